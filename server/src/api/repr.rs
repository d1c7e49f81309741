//! How objects look on the wire: absolute `@id`s, `@type`s, the seed's field names, and
//! connector settings as top-level fields.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use engine::model::{Access, Datasource, DatasourceView, Invitation, Resource};
use serde::Serialize;
use serde_json::{Map, Value};

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
    source_modified: Option<DateTime<Utc>>,
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
        processing_status: &r.processing_status,
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
