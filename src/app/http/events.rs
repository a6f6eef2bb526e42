//! EVE records: one `http` event per transaction, a `fileinfo` per uploaded file (multipart
//! part with a file name, or a PUT body) and per non-empty response body.

use serde_json::{json, Map, Value};

use super::parser::Tx;
use crate::app::{AppEvent, Cx};

pub(super) fn transaction(tx: Tx, cx: &mut Cx<'_>) {
    let http = http_object(&tx);
    let mut exfil = json!({
        "request_body_bytes": tx.req_body.bytes,
        "response_body_bytes": tx.resp_body.bytes,
    });
    let extra = exfil.as_object_mut().expect("object literal");
    if let Some(ct) = &tx.req.content_type {
        extra.insert("request_content_type".into(), ct.as_str().into());
    }
    if tx.url_len > 0 {
        extra.insert("url_length".into(), tx.url_len.into());
    }
    if !tx.anomalies.is_empty() {
        extra.insert("anomalies".into(), tx.anomalies.clone().into());
    }
    let mut ev = AppEvent::new(cx.ts_us, "http", http.clone()).with_exfil(exfil);
    ev.fields.insert("tx_id".into(), tx.id.into());
    cx.events.push(ev);

    let file = |name: &str, size: u64, complete: bool, gaps: bool, upload: bool| {
        let mut ev = AppEvent::new(
            cx.ts_us,
            "fileinfo",
            json!({
                "filename": name,
                "size": size,
                "state": if complete { "CLOSED" } else { "TRUNCATED" },
                "stored": false,
                "gaps": gaps,
                "tx_id": tx.id,
            }),
        )
        .with_exfil(json!({"direction": if upload { "upload" } else { "download" }}));
        ev.fields.insert("app_proto".into(), "http".into());
        ev.fields.insert("http".into(), http.clone());
        ev.fields.insert("tx_id".into(), tx.id.into());
        ev
    };
    let mut files = Vec::new();
    let parts = tx
        .req_body
        .mime
        .as_ref()
        .map_or(&[][..], |m| &m.attachments[..]);
    for a in parts {
        files.push(file(&a.filename, a.size, a.complete, a.gaps, true));
    }
    let name = tx.url.as_deref().map(last_segment);
    if let Some(name) = name {
        let b = &tx.req_body;
        if parts.is_empty() && tx.method.as_deref() == Some("PUT") && b.bytes > 0 {
            files.push(file(name, b.bytes, b.complete, b.gaps, true));
        }
        let b = &tx.resp_body;
        if b.bytes > 0 {
            files.push(file(name, b.bytes, b.complete, b.gaps, false));
        }
    }
    cx.events.extend(files);
}

fn http_object(tx: &Tx) -> Value {
    let mut o = Map::new();
    let mut put = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            o.insert(k.into(), v.into());
        }
    };
    // Absolute URL (proxy request), else Host, else a CONNECT target (authority form).
    let url = tx.url.as_deref();
    let authority = url
        .and_then(split_absolute)
        .map(|(a, _)| a)
        .or(tx.req.host.as_deref())
        .or_else(|| {
            url.filter(|_| tx.method.as_deref() == Some("CONNECT"))
                .and_then(|u| u.split(' ').next())
        });
    let (host, port) = authority.map_or((None, None), split_host_port);
    put("hostname", host);
    put("url", tx.url.as_deref());
    put("http_user_agent", tx.req.user_agent.as_deref());
    // Suricata logs the response's media type without parameters.
    let ct = tx.resp.content_type.as_deref();
    put(
        "http_content_type",
        ct.map(|c| c.split(';').next().unwrap_or(c).trim()),
    );
    put("http_refer", tx.req.referer.as_deref());
    put("xff", tx.req.xff.as_deref());
    put("http_method", tx.method.as_deref());
    put(
        "protocol",
        tx.protocol.as_deref().or(tx.resp_protocol.as_deref()),
    );
    put("status_string", tx.status_string.as_deref());
    if let Some(p) = port {
        o.insert("http_port".into(), p.into());
    }
    if let Some(s) = tx.status {
        o.insert("status".into(), s.into());
    }
    if tx.resp_started {
        o.insert("length".into(), tx.resp_body.bytes.into());
    }
    if let Some(r) = &tx.resp.content_range {
        o.insert("content_range".into(), content_range(r));
    }
    Value::Object(o)
}

/// `http://host:port/path?q` → (`host:port`, `/path?q`): proxy requests carry the host
/// in the URL.
fn split_absolute(url: &str) -> Option<(&str, &str)> {
    let scheme = ["http://", "https://"].into_iter().find(|s| {
        url.get(..s.len())
            .is_some_and(|p| p.eq_ignore_ascii_case(s))
    })?;
    let rest = &url[scheme.len()..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    Some(rest.split_at(end))
}

/// `host`, `host:8080`, `[::1]:8065` → host and port.
fn split_host_port(a: &str) -> (Option<&str>, Option<u16>) {
    let (host, port) = match a.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((h, rest)) => (h, rest.strip_prefix(':')),
            None => (a, None),
        },
        None => match a.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h, Some(p)),
            _ => (a, None),
        },
    };
    let host = (!host.is_empty()).then_some(host);
    (host, port.and_then(|p| p.parse().ok()))
}

/// The file name a URL names: its last path segment, or the whole path when that is empty.
pub(super) fn last_segment(url: &str) -> &str {
    let path = split_absolute(url).map_or(url, |(_, path)| path);
    let path = &path[..path.find(['?', '#']).unwrap_or(path.len())];
    match path.rsplit('/').next() {
        Some(seg) if !seg.is_empty() => seg,
        _ if path.is_empty() => "/",
        _ => path,
    }
}

/// `bytes 0-99/1000` → Suricata's content_range object.
fn content_range(raw: &str) -> Value {
    let mut o = Map::new();
    o.insert("raw".into(), raw.into());
    let spec = raw.strip_prefix("bytes").map_or(raw, str::trim_start);
    if let Some((range, size)) = spec.split_once('/') {
        if let Some((a, b)) = range.split_once('-') {
            if let (Ok(a), Ok(b)) = (a.trim().parse::<i64>(), b.trim().parse::<i64>()) {
                o.insert("start".into(), a.into());
                o.insert("end".into(), b.into());
            }
        }
        if let Ok(s) = size.trim().parse::<i64>() {
            o.insert("size".into(), s.into());
        }
    }
    Value::Object(o)
}
