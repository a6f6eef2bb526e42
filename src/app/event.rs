//! Events parsers produce; the output thread adds timestamp, flow identity and tuple.
//!
//! A parser's fields are serialised once, when the event is made, on the worker that made
//! it: from typed structs on the hot paths (DNS, HTTP), from `serde_json` values elsewhere.
//! The output thread then only frames and copies bytes, and no value tree crosses threads
//! (building, walking and freeing those trees was most of the logging cost).

use serde::Serialize;
use serde_json::Value;
use std::cell::{OnceCell, RefCell};

/// One application-layer EVE record.
#[derive(Clone, Debug, PartialEq)]
pub struct AppEvent {
    /// Packet time the event refers to, µs since the epoch.
    pub ts_us: u64,
    /// EVE `event_type`: "dns", "ftp", "ftp_data", "tftp", "smb", "smtp", "http", "tls",
    /// "ssh", "fileinfo".
    pub event_type: &'static str,
    /// Top-level fields in Suricata's shape, one JSON object, e.g. `{"dns": {...}}`, or for
    /// fileinfo `{"app_proto": "ftp-data", "fileinfo": {...}}`. Only fields Suricata's
    /// schema defines.
    pub fields: Json,
    /// Our additions (placed under the top-level `exfil` object), if any.
    pub exfil: Option<Json>,
    /// When true the event is logged with src = server, dest = client (e.g. a DNS
    /// response logged in the direction it travelled); false: src = client.
    pub reversed: bool,
}

impl AppEvent {
    /// An event whose only field is the protocol object named like the event type.
    pub fn new(ts_us: u64, event_type: &'static str, body: impl Serialize) -> AppEvent {
        AppEvent::with_fields(ts_us, event_type, Named(event_type, &body))
    }

    /// An event with several top-level fields: `fields` must serialise to a JSON object.
    /// Typed structs list their keys alphabetically, the order a `serde_json::Map` writes,
    /// so a record's bytes do not depend on which of the two built it.
    pub fn with_fields(ts_us: u64, event_type: &'static str, fields: impl Serialize) -> AppEvent {
        AppEvent {
            ts_us,
            event_type,
            fields: Json::of(&fields),
            exfil: None,
            reversed: false,
        }
    }

    pub fn with_exfil(mut self, exfil: impl Serialize) -> AppEvent {
        self.exfil = Some(Json::of(&exfil));
        self
    }

    /// Give the event's text buffers back for the next events, once it is written out.
    pub fn recycle(self) {
        self.fields.recycle();
        if let Some(x) = self.exfil {
            x.recycle();
        }
    }
}

/// `{name: value}` with a key only known at run time (the event type).
struct Named<'a, T>(&'static str, &'a T);

impl<T: Serialize> Serialize for Named<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.0, self.1)?;
        m.end()
    }
}

/// A JSON document kept as its text, which is what gets written. Reading it as a
/// [`Value`] (tests, tools) parses the text once, on first use.
#[derive(Clone, Default)]
pub struct Json {
    /// UTF-8 JSON text.
    text: Vec<u8>,
    parsed: OnceCell<Value>,
}

thread_local! {
    /// Text buffers of events already written out, for the next events of this thread:
    /// each event's text would otherwise be an allocation, a copy and a free.
    static SPARE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// Most buffers kept for reuse per thread, and the largest one kept.
const SPARE_BUFFERS: usize = 64;
const SPARE_MAX_BYTES: usize = 16 * 1024;

impl Json {
    /// Serialise `v` (with [`crate::output::json`], serde_json's output, faster) into a
    /// buffer a written-out event gave back ([`AppEvent::recycle`]), when there is one.
    pub fn of(v: &impl Serialize) -> Json {
        let mut text = SPARE
            .with(|s| s.try_borrow_mut().ok().and_then(|mut s| s.pop()))
            .unwrap_or_default();
        text.clear();
        crate::output::json::to_vec(&mut text, v);
        Json {
            text,
            parsed: OnceCell::new(),
        }
    }

    fn recycle(self) {
        let text = self.text;
        if text.capacity() == 0 || text.capacity() > SPARE_MAX_BYTES {
            return;
        }
        SPARE.with(|s| {
            if let Ok(mut s) = s.try_borrow_mut() {
                if s.len() < SPARE_BUFFERS {
                    s.push(text);
                }
            }
        });
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.text
    }
}

impl std::ops::Deref for Json {
    type Target = Value;

    fn deref(&self) -> &Value {
        self.parsed
            .get_or_init(|| serde_json::from_slice(&self.text).unwrap_or(Value::Null))
    }
}

impl PartialEq for Json {
    fn eq(&self, o: &Json) -> bool {
        self.text == o.text
    }
}

impl std::fmt::Debug for Json {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_text_and_read_as_values() {
        let e = AppEvent::new(7, "dns", json!({"b": 1, "a": "x"})).with_exfil(json!([1]));
        assert_eq!(e.fields.as_bytes(), br#"{"dns":{"a":"x","b":1}}"#);
        assert_eq!(e.fields["dns"]["b"], 1);
        assert_eq!(**e.exfil.as_ref().unwrap(), json!([1]));
        #[derive(Serialize)]
        struct F {
            app_proto: &'static str,
            tx_id: u64,
        }
        let f = AppEvent::with_fields(
            7,
            "fileinfo",
            F {
                app_proto: "http",
                tx_id: 3,
            },
        );
        assert_eq!(f.fields.as_bytes(), br#"{"app_proto":"http","tx_id":3}"#);
    }
}
