//! `@frontsearch` and `@sendToCompute`: search what the user may see, and send resources
//! through the processing pipeline again.

use serde_json::Value;

use super::access::Action;
use super::{Engine, json_object, refuse_unknown};
use crate::domain::Cursor;
use crate::error::{EngineError, Result};
use crate::model::{SearchHit, SearchResults, User};
use crate::search::{Filters, query};

/// Hits per page: default and most.
const DEFAULT_SIZE: i64 = 20;
/// How deep a search may page.
const MAX_DEPTH: usize = 10_000;
const MAX_SIZE: i64 = 100;

impl Engine {
    /// `@sendToCompute` on a datasource (every resource) or one of its resources: back to
    /// `pending`, so the pipeline processes them again. Editors and owners. Returns how many.
    pub async fn send_to_compute(
        &self,
        user: &User,
        datasource_id: &str,
        resource_id: Option<&str>,
    ) -> Result<i64> {
        let ds = self
            .datasource_for(user, datasource_id, Action::Operate)
            .await?
            .datasource;
        let n = self.store.requeue_processing(&ds.id, resource_id).await?;
        if let (Some(r), 0) = (resource_id, n) {
            return Err(EngineError::NotFound(format!("resource '{r}'")));
        }
        self.events.publish(&ds.id, crate::events::What::Updated);
        Ok(n)
    }

    /// `@frontsearch`: `{"query": "...", "size": 20, "scroll": "<cursor>", "filters": {...}}` or
    /// `{"advanced": {...}}`, within one datasource (`Some(id)`) or everything the user has a
    /// role on. Hits whose resource is gone are never returned, even before the index has
    /// caught up with the deletion.
    pub async fn search(
        &self,
        user: &User,
        datasource_id: Option<&str>,
        body: &Value,
    ) -> Result<SearchResults> {
        let index = self
            .search
            .as_ref()
            .ok_or_else(|| EngineError::Conflict("search is not running in this process".into()))?;
        let obj = json_object(body)?;
        refuse_unknown(obj, &["query", "advanced", "size", "scroll", "filters"])?;
        let text = match (obj.get("query"), obj.get("advanced")) {
            (Some(_), Some(_)) => {
                return Err(EngineError::invalid(
                    "advanced",
                    "send either query or advanced, not both",
                ));
            }
            (Some(Value::String(q)), None) => query::parse_simple(q, index.text_fields(), "query")?,
            (Some(_), None) => return Err(EngineError::invalid("query", "must be text")),
            (None, Some(a)) => query::parse_advanced(a, index.text_fields(), "advanced")?,
            (None, None) => return Err(EngineError::invalid("query", "is required")),
        };
        let size = match obj.get("size") {
            None | Some(Value::Null) => DEFAULT_SIZE,
            Some(v) => v
                .as_i64()
                .filter(|n| (1..=MAX_SIZE).contains(n))
                .ok_or_else(|| {
                    EngineError::invalid(
                        "size",
                        format!("must be a whole number from 1 to {MAX_SIZE}"),
                    )
                })?,
        } as usize;
        let filters = parse_filters(obj.get("filters"))?;
        let datasources = match datasource_id {
            Some(id) => vec![
                self.datasource_for(user, id, Action::Browse)
                    .await?
                    .datasource
                    .id,
            ],
            None => self.store.member_datasource_ids(&user.id).await?,
        };
        // A cursor belongs to this user, scope and request (the same query and filters).
        let mut fingerprint = obj.clone();
        fingerprint.remove("scroll");
        fingerprint.remove("size");
        let digest = {
            use sha2::Digest;
            let d = sha2::Sha256::digest(Value::Object(fingerprint).to_string().as_bytes());
            d.iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        };
        let scope = format!(
            "search:{}:{}:{digest}",
            user.id,
            datasource_id.unwrap_or("*")
        );
        let offset = match obj.get("scroll") {
            None | Some(Value::Null) => 0,
            Some(Value::String(s)) if s.is_empty() => 0,
            Some(Value::String(s)) => Cursor::decode(s, &scope)?.after.max(0) as usize,
            Some(_) => return Err(EngineError::invalid("scroll", "must be the cursor text")),
        };
        // The index collects every hit up to the page it returns: a cursor (which a client can
        // write itself) pointing far down would make it hold millions.
        if offset > MAX_DEPTH {
            return Err(EngineError::invalid(
                "scroll",
                format!("a search pages at most {MAX_DEPTH} results deep; narrow the query"),
            ));
        }
        // Searching is CPU work: on a blocking thread, never on the threads serving requests.
        let (text, found) = {
            let index = index.clone();
            tokio::task::spawn_blocking(move || {
                let found = index.search(&text, &datasources, &filters, offset, size);
                (text, found.map(|f| (f, datasources)))
            })
            .await
            .map_err(|e| EngineError::Internal(format!("the search stopped: {e}")))?
        };
        let ((hits, total), datasources) = found?;
        // The database decides: a hit whose resource is gone is left out. It also holds the
        // text the snippets are made from.
        let ids: Vec<String> = hits.iter().map(|h| h.resource_id.clone()).collect();
        let mut present: std::collections::HashMap<
            String,
            (crate::model::Resource, Option<String>),
        > = self
            .store
            .resources_with_text(&ids)
            .await?
            .into_iter()
            .map(|(r, text)| (r.id.clone(), (r, text)))
            .collect();
        let snippets = index.snippets(&text)?;
        let items: Vec<SearchHit> = hits
            .into_iter()
            .filter_map(|h| {
                let (resource, body) = present.remove(&h.resource_id)?;
                datasources
                    .contains(&resource.datasource_id)
                    .then(|| SearchHit {
                        snippet: body.map(|b| snippets.html(&b)).unwrap_or_default(),
                        resource,
                        score: h.score,
                    })
            })
            .collect();
        let next = offset + size;
        Ok(SearchResults {
            items,
            total: total as i64,
            cursor: (next < total).then(|| Cursor::new(scope, next as i64).encode()),
        })
    }
}

fn parse_filters(v: Option<&Value>) -> Result<Filters> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Filters::default());
    };
    let obj = v
        .as_object()
        .ok_or_else(|| EngineError::invalid("filters", "must be an object"))?;
    let allowed = [
        "media_type",
        "modified_after",
        "modified_before",
        "path_prefix",
    ];
    if let Some(k) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(EngineError::invalid(
            format!("filters.{k}"),
            format!("is not a filter; expected one of: {}", allowed.join(", ")),
        ));
    }
    let text = |k: &str| -> Result<Option<String>> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_owned())),
            Some(_) => Err(EngineError::invalid(
                format!("filters.{k}"),
                "must be non-empty text",
            )),
        }
    };
    let time = |k: &str| -> Result<Option<chrono::DateTime<chrono::Utc>>> {
        text(k)?
            .map(|s| {
                chrono::DateTime::parse_from_rfc3339(&s)
                    .map(|t| t.with_timezone(&chrono::Utc))
                    .or_else(|_| {
                        chrono::NaiveDate::parse_from_str(&s, "%Y-%m-%d")
                            .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
                    })
                    .map_err(|_| {
                        EngineError::invalid(
                            format!("filters.{k}"),
                            "must be a date (2024-05-01) or an RFC 3339 time",
                        )
                    })
            })
            .transpose()
    };
    Ok(Filters {
        media_type: text("media_type")?,
        modified_after: time("modified_after")?,
        modified_before: time("modified_before")?,
        path_prefix: text("path_prefix")?,
    })
}
