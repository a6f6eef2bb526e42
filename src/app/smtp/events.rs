//! EVE records: one `smtp` event per transaction (Suricata's `smtp` and `email` objects) and
//! one `fileinfo` per attachment; volumes and what Suricata lacks go under `exfil`.

use serde_json::{json, Map, Value};

use super::parser::{Message, Session, Tx};
use crate::app::{AppEvent, Cx};

pub(super) fn transaction(s: &Session, tx: &Tx, cx: &mut Cx<'_>) {
    let smtp = smtp_object(s, tx);
    let email = tx.msg.as_ref().map(email_object);
    // Fields every event of the transaction carries besides its own object.
    let context = |mut fields: Map<String, Value>| {
        fields.insert("tx_id".into(), s.tx_id.into());
        if let Some(e) = &email {
            fields.insert("email".into(), e.clone());
        }
        fields
    };

    let attachments: Vec<Value> = tx.msg.as_ref().map_or(Vec::new(), |m| {
        m.mime
            .attachments
            .iter()
            .map(|a| json!({"filename": a.filename, "size": a.size}))
            .collect()
    });
    let mut exfil = json!({
        "message_bytes": tx.msg.as_ref().map_or(0, |m| m.bytes),
        "attachments": attachments,
        "bdat_chunks": tx.msg.as_ref().map_or(0, |m| m.bdat_chunks),
        "starttls": s.starttls,
    });
    let extra = exfil.as_object_mut().expect("object literal");
    if let Some(m) = &s.auth_mechanism {
        extra.insert("auth_mechanism".into(), m.as_str().into());
    }
    let counters = [
        ("rcpt_dropped", tx.rcpt_dropped),
        ("oversized_lines", s.oversized_lines),
        (
            "attachments_dropped",
            tx.msg.as_ref().map_or(0, |m| m.mime.attachments_dropped),
        ),
        (
            "oversized_headers",
            tx.msg.as_ref().map_or(0, |m| m.mime.oversized),
        ),
    ];
    for (k, v) in counters {
        if v > 0 {
            extra.insert(k.into(), v.into());
        }
    }
    if tx.msg.as_ref().is_some_and(|m| m.gaps) {
        extra.insert("gaps".into(), true.into());
    }

    let mut fields = Map::new();
    fields.insert("smtp".into(), smtp.clone());
    cx.events
        .push(AppEvent::with_fields(cx.ts_us, "smtp", context(fields)).with_exfil(exfil));

    let Some(m) = &tx.msg else { return };
    for a in &m.mime.attachments {
        let file = json!({
            "filename": a.filename,
            "size": a.size,
            "state": if a.complete { "CLOSED" } else { "TRUNCATED" },
            "stored": false,
            "gaps": a.gaps,
            "tx_id": s.tx_id,
        });
        let mut fields = Map::new();
        fields.insert("app_proto".into(), "smtp".into());
        fields.insert("fileinfo".into(), file);
        fields.insert("smtp".into(), smtp.clone());
        let ev = AppEvent::with_fields(cx.ts_us, "fileinfo", context(fields))
            .with_exfil(json!({"direction": "upload"}));
        cx.events.push(ev);
    }
}

fn smtp_object(s: &Session, tx: &Tx) -> Value {
    let mut o = Map::new();
    if let Some(h) = &s.helo {
        o.insert("helo".into(), h.as_str().into());
    }
    if let Some(f) = &tx.mail_from {
        o.insert("mail_from".into(), f.as_str().into());
    }
    if !tx.rcpt_to.is_empty() {
        o.insert("rcpt_to".into(), tx.rcpt_to.clone().into());
    }
    Value::Object(o)
}

fn email_object(m: &Message) -> Value {
    let e = &m.mime.email;
    let status = if m.complete {
        "PARSE_DONE"
    } else if m.mime.in_top_headers() {
        "HEADER_STARTED"
    } else {
        "BODY_STARTED"
    };
    let mut o = Map::new();
    o.insert("status".into(), status.into());
    let strings = [
        ("from", &e.from),
        ("subject", &e.subject),
        ("date", &e.date),
        ("message_id", &e.message_id),
        ("x_mailer", &e.x_mailer),
    ];
    for (k, v) in strings {
        if let Some(v) = v {
            o.insert(k.into(), v.as_str().into());
        }
    }
    for (k, v) in [("to", &e.to), ("cc", &e.cc)] {
        if !v.is_empty() {
            o.insert(k.into(), v.clone().into());
        }
    }
    let names: Vec<Value> = m
        .mime
        .attachments
        .iter()
        .map(|a| a.filename.as_str().into())
        .collect();
    if !names.is_empty() {
        o.insert("attachment".into(), names.into());
    }
    Value::Object(o)
}
