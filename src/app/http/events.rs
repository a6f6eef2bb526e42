//! EVE records: one `http` event per transaction, a `fileinfo` per uploaded file (multipart
//! part with a file name, or a PUT body) and per non-empty response body.

use serde::Serialize;

use super::parser::Tx;
use crate::app::{AppEvent, Cx};

// Typed records, serialised straight into the event's text. Keys are declared in
// alphabetical order, the order the `serde_json::Map` these replace wrote them in.

/// Suricata's `http` object.
#[derive(Serialize)]
struct HttpObject<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    content_range: Option<ContentRange<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hostname: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_content_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_refer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_user_agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    length: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_string: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    xff: Option<&'a str>,
}

#[derive(Serialize)]
struct ContentRange<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    end: Option<i64>,
    raw: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    start: Option<i64>,
}

/// Top-level fields of the `http` event.
#[derive(Serialize)]
struct HttpFields<'a> {
    http: &'a HttpObject<'a>,
    tx_id: u64,
}

/// Our additions to the `http` event.
#[derive(Serialize)]
struct HttpExfil<'a> {
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    anomalies: &'a [&'static str],
    request_body_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_content_type: Option<&'a str>,
    response_body_bytes: u64,
    #[serde(skip_serializing_if = "is_zero")]
    url_length: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Top-level fields of a `fileinfo` event for a file carried over HTTP.
#[derive(Serialize)]
struct FileFields<'a> {
    app_proto: &'static str,
    fileinfo: FileInfo<'a>,
    http: &'a HttpObject<'a>,
    tx_id: u64,
}

#[derive(Serialize)]
struct FileInfo<'a> {
    filename: &'a str,
    gaps: bool,
    size: u64,
    state: &'static str,
    stored: bool,
    tx_id: u64,
}

#[derive(Serialize)]
struct FileExfil {
    direction: &'static str,
}

pub(super) fn transaction(tx: Tx, cx: &mut Cx<'_>) {
    let http = http_object(&tx);
    let exfil = HttpExfil {
        anomalies: &tx.anomalies,
        request_body_bytes: tx.req_body.bytes,
        request_content_type: tx.req.content_type.as_deref(),
        response_body_bytes: tx.resp_body.bytes,
        url_length: tx.url_len,
    };
    let fields = HttpFields {
        http: &http,
        tx_id: tx.id,
    };
    cx.events
        .push(AppEvent::with_fields(cx.ts_us, "http", fields).with_exfil(exfil));

    let file = |name: &str, size: u64, complete: bool, gaps: bool, upload: bool| {
        let fields = FileFields {
            app_proto: "http",
            fileinfo: FileInfo {
                filename: name,
                gaps,
                size,
                state: if complete { "CLOSED" } else { "TRUNCATED" },
                stored: false,
                tx_id: tx.id,
            },
            http: &http,
            tx_id: tx.id,
        };
        let direction = if upload { "upload" } else { "download" };
        AppEvent::with_fields(cx.ts_us, "fileinfo", fields).with_exfil(FileExfil { direction })
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

fn http_object(tx: &Tx) -> HttpObject<'_> {
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
    // Suricata logs the response's media type without parameters.
    let ct = tx.resp.content_type.as_deref();
    HttpObject {
        content_range: tx.resp.content_range.as_deref().map(content_range),
        hostname: host,
        http_content_type: ct.map(|c| c.split(';').next().unwrap_or(c).trim()),
        http_method: tx.method.as_deref(),
        http_port: port,
        http_refer: tx.req.referer.as_deref(),
        http_user_agent: tx.req.user_agent.as_deref(),
        length: tx.resp_started.then_some(tx.resp_body.bytes),
        protocol: tx.protocol.as_deref().or(tx.resp_protocol.as_deref()),
        status: tx.status,
        status_string: tx.status_string.as_deref(),
        url,
        xff: tx.req.xff.as_deref(),
    }
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
fn content_range(raw: &str) -> ContentRange<'_> {
    let mut r = ContentRange {
        end: None,
        raw,
        size: None,
        start: None,
    };
    let spec = raw.strip_prefix("bytes").map_or(raw, str::trim_start);
    if let Some((range, size)) = spec.split_once('/') {
        if let Some((a, b)) = range.split_once('-') {
            if let (Ok(a), Ok(b)) = (a.trim().parse::<i64>(), b.trim().parse::<i64>()) {
                r.start = Some(a);
                r.end = Some(b);
            }
        }
        r.size = size.trim().parse::<i64>().ok();
    }
    r
}
