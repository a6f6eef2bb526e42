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

/// Append the timestamp for `us` microseconds since the epoch to `out`.
pub fn write_ts(out: &mut String, us: u64) {
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

pub fn ts(us: u64) -> String {
    let mut s = String::with_capacity(31);
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
    }
}
