//! For parser tests: events, as the output thread writes them minus `exfil`, validate
//! against Suricata's EVE schema from `../shared` beside the repository (skipped with a
//! message when it is absent).

use super::AppEvent;
use serde_json::Value;
use std::sync::OnceLock;

fn validator() -> Option<&'static jsonschema::Validator> {
    static V: OnceLock<Option<jsonschema::Validator>> = OnceLock::new();
    V.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/eve-schema/suricata-eve-schema.json"
        );
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("SKIP: {path} absent; parser events not checked against Suricata's schema");
            return None;
        };
        Some(
            jsonschema::validator_for(&serde_json::from_str(&text).expect("schema JSON"))
                .expect("compile schema"),
        )
    })
    .as_ref()
}

/// The event as written (timestamp, event type, the parser's fields), `exfil` aside.
fn record(e: &AppEvent) -> Value {
    let mut o = e.fields.as_object().cloned().unwrap_or_default();
    o.insert("event_type".into(), e.event_type.into());
    o.insert("timestamp".into(), "2024-01-01T00:00:00.000000+0000".into());
    Value::Object(o)
}

/// Panics with the schema error when an event does not validate.
pub(crate) fn assert_schema(events: &[AppEvent]) {
    let Some(v) = validator() else { return };
    for e in events {
        let doc = record(e);
        if let Err(err) = v.validate(&doc) {
            panic!("event fails Suricata's schema: {err}\n{doc}");
        }
    }
}
