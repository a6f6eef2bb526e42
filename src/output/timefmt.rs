//! Suricata's EVE timestamp format, `2025-03-12T14:00:01.421608+0000`, in UTC.

use std::fmt::Write;

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Length of a timestamp with a four-digit year.
const TS_LEN: usize = 31;

/// The timestamp for `us` microseconds since the epoch, digits placed by hand: every
/// event carries one or three, and `format!` was a measurable part of writing them. None
/// past year 9999 (see [`write_ts`]).
pub fn ts_bytes(us: u64) -> Option<[u8; TS_LEN]> {
    thread_local! {
        /// The last second formatted and its text: events come in time order, so the
        /// date and clock digits mostly repeat and only the microseconds change.
        static LAST: std::cell::Cell<(u64, [u8; TS_LEN])> =
            const { std::cell::Cell::new((u64::MAX, [0; TS_LEN])) };
    }
    let secs = us / 1_000_000;
    let mut b = match LAST.get() {
        (s, b) if s == secs => b,
        _ => {
            let b = second_bytes(secs)?;
            LAST.set((secs, b));
            b
        }
    };
    put_digits(&mut b[20..26], (us % 1_000_000) as u32);
    Some(b)
}

/// The timestamp of a whole second (microseconds zero).
fn second_bytes(secs: u64) -> Option<[u8; TS_LEN]> {
    let secs = secs as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400) as u32;
    let y = u32::try_from(y).ok().filter(|y| *y <= 9999)?;
    let mut b = *b"0000-00-00T00:00:00.000000+0000";
    for (at, width, v) in [
        (0, 4, y),
        (5, 2, m),
        (8, 2, d),
        (11, 2, sod / 3600),
        (14, 2, sod / 60 % 60),
        (17, 2, sod % 60),
    ] {
        put_digits(&mut b[at..at + width], v);
    }
    Some(b)
}

/// `v` in decimal, zero-padded to fill `out`.
fn put_digits(out: &mut [u8], mut v: u32) {
    for c in out.iter_mut().rev() {
        *c = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Append the timestamp for `us` microseconds since the epoch to `out`.
pub fn write_ts(out: &mut String, us: u64) {
    match ts_bytes(us) {
        // The template and the digits are ASCII.
        Some(b) => out.push_str(std::str::from_utf8(&b).unwrap_or_default()),
        None => {
            let secs = (us / 1_000_000) as i64;
            let frac = us % 1_000_000;
            let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
            let sod = secs.rem_euclid(86_400);
            let _ = write!(
                out,
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:06}+0000",
                sod / 3600,
                sod / 60 % 60,
                sod % 60
            );
        }
    }
}

/// A timestamp field that formats itself as it is serialised (no String per field).
#[derive(Clone, Copy, Debug)]
pub struct Ts(pub u64);

impl serde::Serialize for Ts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match ts_bytes(self.0) {
            Some(b) => s.serialize_str(std::str::from_utf8(&b).unwrap_or_default()),
            None => s.serialize_str(&ts(self.0)),
        }
    }
}

pub fn ts(us: u64) -> String {
    let mut s = String::with_capacity(TS_LEN);
    write_ts(&mut s, us);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_suricata() {
        assert_eq!(ts(0), "1970-01-01T00:00:00.000000+0000");
        assert_eq!(ts(1_741_788_001_421_608), "2025-03-12T14:00:01.421608+0000");
        assert_eq!(ts(951_782_400_000_001), "2000-02-29T00:00:00.000001+0000");
        // The same second again (its text is reused), then the next one.
        assert_eq!(ts(951_782_400_999_999), "2000-02-29T00:00:00.999999+0000");
        assert_eq!(ts(951_782_401_000_000), "2000-02-29T00:00:01.000000+0000");
        assert_eq!(
            ts(253_402_300_799_999_999),
            "9999-12-31T23:59:59.999999+0000"
        );
        assert_eq!(
            ts(253_402_300_800_000_000),
            "10000-01-01T00:00:00.000000+0000"
        );
    }
}
