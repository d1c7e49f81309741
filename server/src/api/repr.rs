//! How objects look on the wire: absolute `@id`s, `@type`s, the seed's field names, and
//! connector settings as top-level fields.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use engine::model::{Datasource, Resource};
use serde_json::{Map, Value, json};

/// `scheme://host` of this request, for absolute `@id`s.
#[derive(Debug, Clone)]
pub struct BaseUrl(pub String);

impl<S: Send + Sync> FromRequestParts<S> for BaseUrl {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let h = &parts.headers;
        let host = h
            .get("x-forwarded-host")
            .or_else(|| h.get(axum::http::header::HOST))
            .and_then(|v| v.to_str().ok())
            .filter(|v| {
                !v.is_empty()
                    && v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
            })
            .unwrap_or("127.0.0.1:3000");
        let scheme = h
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .filter(|p| *p == "https" || *p == "http")
            .unwrap_or("http");
        Ok(Self(format!("{scheme}://{host}")))
    }
}

impl BaseUrl {
    pub fn datasource(&self, id: &str) -> String {
        format!("{}/api/datasources/{id}", self.0)
    }
}

pub fn datasource(base: &BaseUrl, d: &Datasource) -> Value {
    let url = base.datasource(&d.id);
    let mut m = Map::new();
    m.insert("@id".into(), json!(url));
    m.insert("@type".into(), json!(d.kind.as_str()));
    m.insert("id".into(), json!(d.id));
    m.insert("title".into(), json!(d.title));
    m.insert("type_sync".into(), json!(d.type_sync.as_str()));
    m.insert("sync_status".into(), json!(d.sync_status.as_str()));
    m.insert("status_reason".into(), json!(d.status_reason));
    m.insert("owner".into(), json!(d.owner_id));
    for (k, v) in &d.settings {
        m.insert(k.clone(), v.clone());
    }
    m.insert("resource_count".into(), json!(d.resource_count));
    m.insert("byte_count".into(), json!(d.byte_count));
    m.insert("last_sync_started".into(), json!(d.last_sync_started_at));
    m.insert("last_sync_finished".into(), json!(d.last_sync_finished_at));
    m.insert("next_sync_due".into(), json!(d.next_sync_due_at));
    m.insert("created".into(), json!(d.created_at));
    m.insert("modified".into(), json!(d.updated_at));
    m.insert("@children".into(), json!(format!("{url}/@getAllChildren")));
    Value::Object(m)
}

pub fn resource(base: &BaseUrl, r: &Resource) -> Value {
    let ds = base.datasource(&r.datasource_id);
    json!({
        "@id": format!("{ds}/resources/{}", r.id),
        "@type": "Resource",
        "id": r.id,
        "parent": ds,
        "source_id": r.source_id,
        "path": r.path,
        "name": r.name,
        "kind": r.kind,
        "size": r.size,
        "media_type": r.media_type,
        "content_hash": r.content_hash,
        "source_modified": r.source_modified_at,
        "collected": r.collected_at,
        "processing_status": r.processing_status,
    })
}
