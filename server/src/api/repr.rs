//! How objects look on the wire: absolute `@id`s, `@type`s, the seed's field names, and
//! connector settings as top-level fields.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use engine::model::{Access, Datasource, DatasourceView, Invitation, Resource};
use serde::Serialize;
use serde_json::{Map, Value};

/// `scheme://host` for absolute `@id`s: the public URL when the operator set one
/// (`TRIBUTARY_PUBLIC_URL`), else this request's `Host` over plain HTTP. Forwarded headers are
/// not trusted: anyone can send them, and `@id`s are followed by scripts.
#[derive(Debug, Clone)]
pub struct BaseUrl(pub String);

impl<S: Send + Sync> FromRequestParts<S> for BaseUrl {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(url) = parts
            .extensions
            .get::<app::api::ssr::PublicUrl>()
            .and_then(|p| p.0.clone())
        {
            return Ok(Self(url));
        }
        let h = &parts.headers;
        let host = h
            .get(axum::http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .filter(|v| {
                !v.is_empty()
                    && v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
            })
            .unwrap_or("127.0.0.1:3000");
        Ok(Self(format!("http://{host}")))
    }
}

impl BaseUrl {
    pub fn datasource(&self, id: &str) -> String {
        format!("{}/api/datasources/{id}", self.0)
    }
}

/// A datasource on the wire. Serialised straight from borrowed fields (no intermediate
/// `serde_json::Value`), with connector settings flattened to top-level fields.
#[derive(Serialize)]
pub struct DatasourceRepr<'a> {
    #[serde(rename = "@id")]
    id_url: String,
    #[serde(rename = "@type")]
    kind: &'static str,
    id: &'a str,
    title: &'a str,
    type_sync: &'static str,
    sync_status: &'static str,
    status_reason: Option<&'a str>,
    owner: &'a str,
    #[serde(flatten)]
    settings: &'a Map<String, Value>,
    resource_count: i64,
    byte_count: i64,
    last_sync_started: Option<DateTime<Utc>>,
    last_sync_finished: Option<DateTime<Utc>>,
    next_sync_due: Option<DateTime<Utc>>,
    created: DateTime<Utc>,
    modified: DateTime<Utc>,
    #[serde(rename = "@children")]
    children: String,
    /// The asking user's role on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    my_role: Option<&'static str>,
}

/// A datasource as an invitee sees it before accepting: that it exists, and the invitation.
#[derive(Serialize)]
pub struct InvitedRepr<'a> {
    #[serde(rename = "@id")]
    id_url: String,
    #[serde(rename = "@type")]
    kind: &'static str,
    id: &'a str,
    title: &'a str,
    sync_status: &'static str,
    status_reason: &'static str,
    invitation: InvitationRepr<'a>,
}

/// A datasource as the asking user may see it.
#[derive(Serialize)]
#[serde(untagged)]
pub enum ViewRepr<'a> {
    Member(DatasourceRepr<'a>),
    Invited(InvitedRepr<'a>),
}

pub fn view<'a>(base: &BaseUrl, v: &'a DatasourceView) -> ViewRepr<'a> {
    match &v.access {
        Access::Member(role) => {
            let mut r = datasource(base, &v.datasource);
            r.my_role = Some(role.as_str());
            ViewRepr::Member(r)
        }
        Access::Invited(inv) => {
            let d = &v.datasource;
            let status = v.shown_status();
            ViewRepr::Invited(InvitedRepr {
                id_url: base.datasource(&d.id),
                kind: d.kind.as_str(),
                id: &d.id,
                title: &d.title,
                sync_status: status.as_str(),
                status_reason: status.explanation(),
                invitation: invitation(base, inv),
            })
        }
    }
}

/// An invitation on the wire.
#[derive(Serialize)]
pub struct InvitationRepr<'a> {
    #[serde(rename = "@id")]
    id_url: String,
    #[serde(rename = "@type")]
    kind_name: &'static str,
    id: &'a str,
    datasource: String,
    email: &'a str,
    role: &'static str,
    status: &'static str,
    invited_by: &'a str,
    created: DateTime<Utc>,
    modified: DateTime<Utc>,
}

pub fn invitation<'a>(base: &BaseUrl, i: &'a Invitation) -> InvitationRepr<'a> {
    InvitationRepr {
        id_url: format!("{}/api/invitations/{}", base.0, i.id),
        kind_name: "Invitation",
        id: &i.id,
        datasource: base.datasource(&i.datasource_id),
        email: &i.email,
        role: i.role.as_str(),
        status: i.status.as_str(),
        invited_by: &i.invited_by,
        created: i.created_at,
        modified: i.updated_at,
    }
}

pub fn datasource<'a>(base: &BaseUrl, d: &'a Datasource) -> DatasourceRepr<'a> {
    let url = base.datasource(&d.id);
    DatasourceRepr {
        children: format!("{url}/@getAllChildren"),
        id_url: url,
        kind: d.kind.as_str(),
        id: &d.id,
        title: &d.title,
        type_sync: d.type_sync.as_str(),
        sync_status: d.sync_status.as_str(),
        status_reason: d.status_reason.as_deref(),
        owner: &d.owner_id,
        settings: &d.settings,
        resource_count: d.resource_count,
        byte_count: d.byte_count,
        last_sync_started: d.last_sync_started_at,
        last_sync_finished: d.last_sync_finished_at,
        next_sync_due: d.next_sync_due_at,
        created: d.created_at,
        modified: d.updated_at,
        my_role: None,
    }
}

/// A child on the wire.
#[derive(Serialize)]
pub struct ResourceRepr<'a> {
    #[serde(rename = "@id")]
    id_url: String,
    #[serde(rename = "@type")]
    kind_name: &'static str,
    id: &'a str,
    parent: &'a str,
    source_id: &'a str,
    path: &'a str,
    name: &'a str,
    kind: &'a str,
    size: i64,
    media_type: Option<&'a str>,
    content_hash: Option<&'a str>,
    #[serde(serialize_with = "time::optional")]
    source_modified: Option<DateTime<Utc>>,
    #[serde(serialize_with = "time::one")]
    collected: DateTime<Utc>,
    processing_status: &'a str,
    /// Why processing failed ("encrypted", "corrupt", "too large", ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    processing_error: Option<&'a str>,
}

/// `parent` is the datasource's URL, computed once per page by the caller.
pub fn resource<'a>(parent: &'a str, r: &'a Resource) -> ResourceRepr<'a> {
    ResourceRepr {
        id_url: format!("{parent}/resources/{}", r.id),
        kind_name: "Resource",
        id: &r.id,
        parent,
        source_id: &r.source_id,
        path: &r.path,
        name: &r.name,
        kind: &r.kind,
        size: r.size,
        media_type: r.media_type.as_deref(),
        content_hash: r.content_hash.as_deref(),
        source_modified: r.source_modified_at,
        collected: r.collected_at,
        processing_status: r.processing_status.as_str(),
        processing_error: r.processing_error.as_deref(),
    }
}

/// One page of a listing on the wire.
#[derive(Serialize)]
pub struct PageRepr<T: Serialize> {
    pub items: Vec<T>,
    pub cursor: Option<String>,
    pub total: i64,
}

/// A page of children as JSON: byte for byte what serialising `PageRepr` of [`resource`]s
/// gives (a test holds them equal), written directly. A page is the request scripts repeat
/// most, and serde_json spent a fifth of it escaping field names and values a byte at a time;
/// here names are constants and a value without anything to escape is copied whole.
pub fn children_page(
    parent: &str,
    items: &[Resource],
    cursor: Option<&str>,
    total: i64,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + items.len() * (450 + 2 * parent.len()));
    out.extend_from_slice(b"{\"items\":[");
    let mut first = true;
    let mut time = [0u8; 30];
    for r in items {
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(b"{\"@id\":\"");
        raw_or_escaped(&mut out, parent, false);
        out.extend_from_slice(b"/resources/");
        raw_or_escaped(&mut out, &r.id, false);
        out.extend_from_slice(b"\",\"@type\":\"Resource\",\"id\":");
        string(&mut out, &r.id);
        out.extend_from_slice(b",\"parent\":");
        string(&mut out, parent);
        out.extend_from_slice(b",\"source_id\":");
        string(&mut out, &r.source_id);
        out.extend_from_slice(b",\"path\":");
        string(&mut out, &r.path);
        out.extend_from_slice(b",\"name\":");
        string(&mut out, &r.name);
        out.extend_from_slice(b",\"kind\":");
        string(&mut out, &r.kind);
        out.extend_from_slice(b",\"size\":");
        integer(&mut out, r.size);
        out.extend_from_slice(b",\"media_type\":");
        optional_string(&mut out, r.media_type.as_deref());
        out.extend_from_slice(b",\"content_hash\":");
        optional_string(&mut out, r.content_hash.as_deref());
        out.extend_from_slice(b",\"source_modified\":");
        match &r.source_modified_at {
            Some(t) => timestamp(&mut out, t, &mut time),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"collected\":");
        timestamp(&mut out, &r.collected_at, &mut time);
        out.extend_from_slice(b",\"processing_status\":");
        string(&mut out, r.processing_status.as_str());
        if let Some(e) = &r.processing_error {
            out.extend_from_slice(b",\"processing_error\":");
            string(&mut out, e);
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"cursor\":");
    optional_string(&mut out, cursor);
    out.extend_from_slice(b",\"total\":");
    integer(&mut out, total);
    out.push(b'}');
    out
}

fn integer(out: &mut Vec<u8>, n: i64) {
    use std::io::Write;
    // Writing to a Vec cannot fail.
    let _ = write!(out, "{n}");
}

/// `s` as a JSON string, quotes included.
fn string(out: &mut Vec<u8>, s: &str) {
    raw_or_escaped(out, s, true);
}

fn optional_string(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// `s` copied as is when JSON needs nothing escaped in it, else as serde_json escapes it;
/// with or without the surrounding quotes.
fn raw_or_escaped(out: &mut Vec<u8>, s: &str, quoted: bool) {
    // Without early exit, so that the scan compiles to vector instructions.
    let plain = !s.bytes().fold(false, |any, b| {
        any | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if plain {
        if quoted {
            out.push(b'"');
        }
        out.extend_from_slice(s.as_bytes());
        if quoted {
            out.push(b'"');
        }
    } else {
        let escaped = serde_json::to_string(s).unwrap_or_default();
        let inner = if quoted {
            &escaped[..]
        } else {
            &escaped[1..escaped.len().saturating_sub(1).max(1)]
        };
        out.extend_from_slice(inner.as_bytes());
    }
}

fn timestamp(out: &mut Vec<u8>, t: &DateTime<Utc>, buf: &mut [u8; 30]) {
    match time::write(t, buf) {
        Some(text) => {
            out.push(b'"');
            out.extend_from_slice(text.as_bytes());
            out.push(b'"');
        }
        None => string(out, &t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
    }
}

#[cfg(test)]
mod page_tests {
    use super::*;

    #[test]
    fn children_page_is_what_serde_writes() {
        let now = Utc::now();
        let plain = Resource {
            id: "r1".into(),
            datasource_id: "d1".into(),
            source_id: "a/b.txt".into(),
            path: "a/b.txt".into(),
            name: "b.txt".into(),
            kind: "file".into(),
            size: 42,
            media_type: Some("text/plain".into()),
            content_hash: Some("ab".repeat(32)),
            source_modified_at: Some(now),
            collected_at: now,
            processing_status: engine::domain::ProcessingStatus::Processed,
            processing_error: None,
        };
        let odd = Resource {
            id: "r2".into(),
            source_id: "quote\"back\\slash\ttab\u{1}ctl/ünï €".into(),
            path: "line\nbreak".into(),
            name: "\u{7f}del \u{2028}".into(),
            size: -1,
            media_type: None,
            content_hash: None,
            source_modified_at: None,
            collected_at: DateTime::parse_from_rfc3339("+12345-01-01T00:00:00Z")
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or(now),
            processing_status: engine::domain::ProcessingStatus::Failed,
            processing_error: Some("corrupt: \"x\"".into()),
            ..plain.clone()
        };
        for parent in [
            "http://127.0.0.1:3000/api/datasources/d1",
            "http://h/\"odd\\",
        ] {
            for (items, cursor, total) in [
                (vec![], None, 0),
                (vec![plain.clone()], Some("v1|c"), 1),
                (vec![plain.clone(), odd.clone(), plain.clone()], None, 3),
            ] {
                let expected = serde_json::to_vec(&PageRepr {
                    items: items.iter().map(|r| resource(parent, r)).collect(),
                    cursor: cursor.map(str::to_owned),
                    total,
                })
                .unwrap();
                let ours = children_page(parent, &items, cursor, total);
                assert_eq!(
                    String::from_utf8(ours).unwrap(),
                    String::from_utf8(expected).unwrap()
                );
            }
        }
    }
}

/// Times as chrono writes them (RFC 3339, UTC as `Z`, fractions of 0, 3, 6 or 9 digits), without
/// chrono's formatter: a page of children writes two per item, and going through `fmt` one
/// character at a time was a tenth of the page's cost.
mod time {
    use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
    use serde::Serializer;

    pub fn one<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 30];
        match write(t, &mut buf) {
            Some(text) => s.serialize_str(text),
            // Years outside 0..=9999 and leap seconds: chrono's own.
            None => s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        }
    }

    pub fn optional<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => one(t, s),
            None => s.serialize_none(),
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fff|.ffffff|.fffffffff]Z` into `buf`.
    pub(super) fn write<'a>(t: &DateTime<Utc>, buf: &'a mut [u8; 30]) -> Option<&'a str> {
        let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
        let nanos = t.nanosecond();
        if nanos >= 1_000_000_000 {
            return None;
        }
        /// `value` as `width` digits at `at`.
        fn put(buf: &mut [u8], at: usize, value: u32, width: usize) {
            let mut v = value;
            for i in (at..at + width).rev() {
                buf[i] = b'0' + (v % 10) as u8;
                v /= 10;
            }
        }
        put(buf, 0, year, 4);
        buf[4] = b'-';
        put(buf, 5, t.month(), 2);
        buf[7] = b'-';
        put(buf, 8, t.day(), 2);
        buf[10] = b'T';
        put(buf, 11, t.hour(), 2);
        buf[13] = b':';
        put(buf, 14, t.minute(), 2);
        buf[16] = b':';
        put(buf, 17, t.second(), 2);
        let mut n = 19;
        let (value, width) = if nanos == 0 {
            (0, 0)
        } else if nanos.is_multiple_of(1_000_000) {
            (nanos / 1_000_000, 3)
        } else if nanos.is_multiple_of(1_000) {
            (nanos / 1_000, 6)
        } else {
            (nanos, 9)
        };
        if width > 0 {
            buf[n] = b'.';
            put(buf, n + 1, value, width);
            n += 1 + width;
        }
        buf[n] = b'Z';
        n += 1;
        std::str::from_utf8(&buf[..n]).ok()
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn writes_what_chrono_writes() {
            let base = DateTime::parse_from_rfc3339("2026-11-27T02:03:04Z")
                .unwrap()
                .with_timezone(&Utc);
            for nanos in [
                0,
                5_000_000,
                123_000_000,
                123_456_000,
                1_000,
                123_456_789,
                7,
            ] {
                for t in [
                    base,
                    base.with_year(999).unwrap(),
                    base.with_month(1).unwrap().with_day(9).unwrap(),
                    base.with_hour(23)
                        .unwrap()
                        .with_minute(59)
                        .unwrap()
                        .with_second(0)
                        .unwrap(),
                    DateTime::<Utc>::from_timestamp(0, 0).unwrap(),
                ] {
                    let t = t.with_nanosecond(nanos).unwrap();
                    let mut buf = [0u8; 30];
                    let ours = write(&t, &mut buf).unwrap().to_owned();
                    assert_eq!(ours, t.to_rfc3339_opts(SecondsFormat::AutoSi, true));
                    assert_eq!(
                        serde_json::to_string(&t).unwrap(),
                        format!("\"{ours}\""),
                        "chrono's own serialisation"
                    );
                }
            }
            // Out of range: left to chrono.
            let far = base.with_year(12_345).unwrap();
            assert!(write(&far, &mut [0u8; 30]).is_none());
        }
    }
}
