//! A compact JSON serializer for EVE records, byte for byte what `serde_json::to_writer`
//! writes, but faster on what records are made of: short keys and plain ASCII strings.
//!
//! serde_json escapes every key and string a byte at a time through a lookup table; that
//! loop was the largest single cost of writing events. Here a string is first checked for
//! anything that needs escaping with a branch-free pass the compiler vectorises, and copied
//! whole when (as nearly always) nothing does; otherwise it is escaped exactly as
//! serde_json does (`\"`, `\\`, `\b\f\n\r\t`, `\u00XX` with lower-case hex for the other
//! control bytes). Floats and 128-bit integers are handed to serde_json itself. Anything
//! this serializer does not take (a map key that is not a string or an integer) is an
//! error, and [`to_vec`] then falls back to serde_json for the whole value.

use serde::ser::{self, Impossible, Serialize};
use std::fmt::{self, Display};

/// Serialise `v` into `out` (appended), falling back to serde_json when this serializer
/// refuses the value.
pub fn to_vec(out: &mut Vec<u8>, v: &(impl Serialize + ?Sized)) {
    let start = out.len();
    if v.serialize(&mut Ser { out }).is_err() {
        out.truncate(start);
        // Writing into a Vec cannot fail; a value serde_json refuses as well is dropped.
        let _ = serde_json::to_writer(&mut *out, v);
    }
}

#[derive(Debug)]
struct Error(String);

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Error {
        Error(msg.to_string())
    }
}

fn refuse<T>(what: &str) -> Result<T, Error> {
    Err(Error(format!("{what} is left to serde_json")))
}

/// serde_json's escape for a byte: 0 for none, `u` for `\u00XX`, else the letter after `\`.
fn escape_of(b: u8) -> u8 {
    match b {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x0c => b'f',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        0..=0x1f => b'u',
        _ => 0,
    }
}

/// Whether `b` needs no escaping: no control byte, quote or backslash. Eight bytes at a
/// time with the classic "has a byte below n" bit trick (a borrow can only flag a byte
/// above one that really matches, so the answer for the word is exact).
fn plain(b: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x;
    let mut words = b.chunks_exact(8);
    let mut flagged = 0;
    for w in &mut words {
        let x = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        flagged |= below(x, 0x20) | below(x ^ (ONES * 0x22), 1) | below(x ^ (ONES * 0x5c), 1);
    }
    flagged & HIGH == 0 && words.remainder().iter().all(|&c| escape_of(c) == 0)
}

/// Append `s` as a JSON string (quotes included).
fn push_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    if plain(b) {
        out.extend_from_slice(b);
    } else {
        push_escaped(out, b);
    }
    out.push(b'"');
}

fn push_escaped(out: &mut Vec<u8>, b: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        let e = escape_of(c);
        if e == 0 {
            continue;
        }
        out.extend_from_slice(&b[start..i]);
        match e {
            b'u' => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(c >> 4)],
                HEX[usize::from(c & 0xf)],
            ]),
            _ => out.extend_from_slice(&[b'\\', e]),
        }
        start = i + 1;
    }
    out.extend_from_slice(&b[start..]);
}

/// Decimal digits of `n` (itoa: two digits per step from a table).
pub fn push_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn push_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    push_u64(out, n.unsigned_abs());
}

/// Values serde_json formats its own way (shortest round-trip floats, 128-bit integers).
fn delegate(out: &mut Vec<u8>, v: &impl Serialize) -> Result<(), Error> {
    serde_json::to_writer(out, v).map_err(|e| Error(e.to_string()))
}

/// Writes `Display` output as an escaped JSON string body.
struct Escaping<'a>(&'a mut Vec<u8>);

impl fmt::Write for Escaping<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let b = s.as_bytes();
        if b.iter().any(|&c| escape_of(c) != 0) {
            push_escaped(self.0, b);
        } else {
            self.0.extend_from_slice(b);
        }
        Ok(())
    }
}

struct Ser<'a> {
    out: &'a mut Vec<u8>,
}

/// A JSON array or object being written: whether a comma is due before the next item.
struct Compound<'s, 'a> {
    ser: &'s mut Ser<'a>,
    first: bool,
    /// Closing bytes: `]`, `}`, or `]}` / `}}` for enum variants.
    close: &'static [u8],
}

impl Compound<'_, '_> {
    fn comma(&mut self) {
        if self.first {
            self.first = false;
        } else {
            self.ser.out.push(b',');
        }
    }

    fn end(self) -> Result<(), Error> {
        self.ser.out.extend_from_slice(self.close);
        Ok(())
    }

    /// `,"key":` for a struct field. Field names are identifiers from our own types, so
    /// the escape check that values need is only asserted (a record has ~40 of them).
    fn field_key(&mut self, key: &'static str) {
        debug_assert!(plain(key.as_bytes()), "field name needs escaping: {key}");
        let out = &mut *self.ser.out;
        out.reserve(key.len() + 4);
        if self.first {
            self.first = false;
        } else {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
    }
}

impl<'s, 'a> Ser<'a> {
    fn open(&'s mut self, open: &[u8], close: &'static [u8]) -> Compound<'s, 'a> {
        self.out.extend_from_slice(open);
        Compound {
            ser: self,
            first: true,
            close,
        }
    }

    /// `{"variant":` before the content of a data-carrying enum variant.
    fn variant(&mut self, variant: &str) {
        self.out.push(b'{');
        push_str(self.out, variant);
        self.out.push(b':');
    }
}

impl<'s, 'a> ser::Serializer for &'s mut Ser<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'s, 'a>;
    type SerializeTuple = Compound<'s, 'a>;
    type SerializeTupleStruct = Compound<'s, 'a>;
    type SerializeTupleVariant = Compound<'s, 'a>;
    type SerializeMap = Compound<'s, 'a>;
    type SerializeStruct = Compound<'s, 'a>;
    type SerializeStructVariant = Compound<'s, 'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        push_i64(self.out, i64::from(v));
        Ok(())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        push_i64(self.out, i64::from(v));
        Ok(())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        push_i64(self.out, i64::from(v));
        Ok(())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        push_i64(self.out, v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        delegate(self.out, &v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        push_u64(self.out, u64::from(v));
        Ok(())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        push_u64(self.out, u64::from(v));
        Ok(())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        push_u64(self.out, u64::from(v));
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        push_u64(self.out, v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        delegate(self.out, &v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        delegate(self.out, &v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        delegate(self.out, &v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        push_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        push_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: ?Sized + Serialize>(self, v: &T) -> Result<(), Error> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.variant(variant);
        v.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'s, 'a>, Error> {
        Ok(self.open(b"[", b"]"))
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'s, 'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'s, 'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'s, 'a>, Error> {
        self.variant(variant);
        Ok(self.open(b"[", b"]}"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'s, 'a>, Error> {
        Ok(self.open(b"{", b"}"))
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Compound<'s, 'a>, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'s, 'a>, Error> {
        self.variant(variant);
        Ok(self.open(b"{", b"}}"))
    }
    fn collect_str<T: ?Sized + Display>(self, v: &T) -> Result<(), Error> {
        use fmt::Write;
        self.out.push(b'"');
        write!(Escaping(self.out), "{v}").map_err(|e| Error(e.to_string()))?;
        self.out.push(b'"');
        Ok(())
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
        self.comma();
        v.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl ser::SerializeTuple for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl ser::SerializeTupleStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, k: &T) -> Result<(), Error> {
        self.comma();
        k.serialize(KeySer {
            out: &mut *self.ser.out,
        })?;
        self.ser.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, v: &T) -> Result<(), Error> {
        v.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        self.field_key(key);
        v.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        ser::SerializeStruct::serialize_field(self, key, v)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self)
    }
}

/// Map keys: strings as they are, integers quoted (as serde_json does); nothing else.
struct KeySer<'a> {
    out: &'a mut Vec<u8>,
}

impl KeySer<'_> {
    fn quoted(self, digits: impl FnOnce(&mut Vec<u8>)) -> Result<(), Error> {
        self.out.push(b'"');
        digits(self.out);
        self.out.push(b'"');
        Ok(())
    }
}

impl ser::Serializer for KeySer<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        push_str(self.out, v);
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        v: &T,
    ) -> Result<(), Error> {
        v.serialize(self)
    }
    fn collect_str<T: ?Sized + Display>(self, v: &T) -> Result<(), Error> {
        use fmt::Write;
        self.out.push(b'"');
        write!(Escaping(self.out), "{v}").map_err(|e| Error(e.to_string()))?;
        self.out.push(b'"');
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.quoted(|o| push_u64(o, u64::from(v)))
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.quoted(|o| push_u64(o, u64::from(v)))
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.quoted(|o| push_u64(o, u64::from(v)))
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.quoted(|o| push_u64(o, v))
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.quoted(|o| push_i64(o, i64::from(v)))
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.quoted(|o| push_i64(o, i64::from(v)))
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.quoted(|o| push_i64(o, i64::from(v)))
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.quoted(|o| push_i64(o, v))
    }
    fn serialize_bool(self, _v: bool) -> Result<(), Error> {
        refuse("a bool map key")
    }
    fn serialize_u128(self, _v: u128) -> Result<(), Error> {
        refuse("a 128-bit map key")
    }
    fn serialize_i128(self, _v: i128) -> Result<(), Error> {
        refuse("a 128-bit map key")
    }
    fn serialize_f32(self, _v: f32) -> Result<(), Error> {
        refuse("a float map key")
    }
    fn serialize_f64(self, _v: f64) -> Result<(), Error> {
        refuse("a float map key")
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        refuse("a byte map key")
    }
    fn serialize_none(self) -> Result<(), Error> {
        refuse("a null map key")
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _v: &T) -> Result<(), Error> {
        refuse("an optional map key")
    }
    fn serialize_unit(self) -> Result<(), Error> {
        refuse("a unit map key")
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        refuse("a unit map key")
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _v: &T,
    ) -> Result<(), Error> {
        refuse("an enum map key")
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        refuse("a sequence map key")
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        refuse("a tuple map key")
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        refuse("a tuple map key")
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        refuse("an enum map key")
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        refuse("a map map key")
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        refuse("a struct map key")
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        refuse("an enum map key")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Serialize;
    use serde_json::json;

    fn same(v: &(impl Serialize + ?Sized)) {
        let mut ours = Vec::new();
        to_vec(&mut ours, v);
        assert_eq!(
            String::from_utf8(ours).unwrap(),
            serde_json::to_string(v).unwrap()
        );
    }

    #[derive(Serialize)]
    enum E {
        Unit,
        New(u8),
        Tuple(u8, i16),
        Struct { a: f64 },
    }

    #[derive(Serialize)]
    struct S<'a> {
        s: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        o: Option<u32>,
        n: Option<u32>,
        v: Vec<E>,
        t: (i64, u128, f32),
        b: &'a [u8],
        c: char,
    }

    #[test]
    fn matches_serde_json() {
        same(&json!({"a": [1, -2, 3.5, 1e300, null, true], "b\n": {"\u{1}": "x\"\\\u{7f}é"}}));
        same(&S {
            s: "tab\there",
            o: None,
            n: None,
            v: vec![E::Unit, E::New(3), E::Tuple(1, -1), E::Struct { a: 0.1 }],
            t: (i64::MIN, u128::MAX, 1.5),
            b: b"ab",
            c: '"',
        });
        let mut m = std::collections::BTreeMap::new();
        m.insert(7u16, "seven");
        same(&m);
        struct Shown;
        impl Serialize for Shown {
            fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&format_args!("{:x}\t{}", 255, "q\""))
            }
        }
        same(&Shown);
        // A key serde_json takes but this serializer does not: the fallback writes it.
        let mut b = std::collections::BTreeMap::new();
        b.insert(true, 1);
        same(&b);
    }

    proptest! {
        #[test]
        fn any_string_matches_serde_json(s in "(?s).{0,40}|[ -~\\x00-\\x1f\"\\\\]{0,40}") {
            same(&s);
            same(&json!({ s.clone(): [s] }));
        }
    }
}
