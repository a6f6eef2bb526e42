//! Output contract: every line is one JSON object; with `exfil` removed every event
//! validates against Suricata's EVE schema; flow-scoped events carry flow_id and community_id.

mod common;
use common::*;

fn validate_files(files: &[std::path::PathBuf], schema: &serde_json::Value) {
    let validator = jsonschema::validator_for(schema).expect("compile schema");
    let mut n = 0;
    for f in files {
        let (events, _) = run(f, &[]);
        for e in &events {
            let stripped = without_exfil(e);
            if let Err(err) = validator.validate(&stripped) {
                panic!("{}: event fails Suricata's schema: {err}\n{e}", f.display());
            }
            assert!(
                e["timestamp"].is_string() && e["event_type"].is_string(),
                "{e}"
            );
            if e["event_type"] != "stats" {
                assert!(
                    e["flow_id"]
                        .as_u64()
                        .is_some_and(|id| id > 0 && id < 1 << 51),
                    "{e}"
                );
                assert!(
                    e["community_id"]
                        .as_str()
                        .is_some_and(|c| c.starts_with("1:")),
                    "{e}"
                );
            }
            n += 1;
        }
        assert_eq!(
            events.last().map(|e| e["event_type"].clone()),
            Some("stats".into()),
            "{}: final stats event",
            f.display()
        );
    }
    eprintln!("{n} events validated from {} files", files.len());
}

fn schema() -> Option<serde_json::Value> {
    let shared = shared()?;
    let text = std::fs::read_to_string(shared.join("eve-schema/suricata-eve-schema.json")).ok()?;
    Some(serde_json::from_str(&text).unwrap())
}

#[test]
fn bundled_output_validates_against_suricata_schema() {
    let Some(schema) = schema() else { return };
    validate_files(&repo_pcaps(), &schema);
}

#[test]
fn corpus_output_validates_against_suricata_schema() {
    let Some(schema) = schema() else { return };
    let Some(shared) = shared() else { return };
    validate_files(&corpus_pcaps(&shared), &schema);
}
