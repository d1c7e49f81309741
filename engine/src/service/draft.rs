//! What a datasource request says, before it is validated: [`DatasourceDraft`], built from a
//! REST body ([`DatasourceDraft::from_json`]) or from a form's inputs
//! ([`DatasourceDraft::from_form`]). Both read the fields a kind has from the connector
//! registry, so neither face keeps a list of settings, and the engine validates one typed value
//! whichever face it came from.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::connector::COMMON_FIELDS;
use crate::domain::DatasourceKind;
use crate::error::{EngineError, Result};

/// Fields a client may send back unchanged from a GET; they are read-only and ignored.
const READ_ONLY_FIELDS: &[&str] = &[
    "@id",
    "id",
    "owner",
    "status_reason",
    "created",
    "modified",
    "resource_count",
    "byte_count",
    "last_sync_started",
    "last_sync_finished",
    "next_sync_due",
    "parent",
    "@name",
    "sync_status",
];

/// A datasource as a request describes it (a new one, or changes to one).
#[derive(Debug, Clone)]
pub struct DatasourceDraft {
    pub kind: DatasourceKind,
    /// `None`: not given (required on create, unchanged on edit).
    pub title: Option<String>,
    pub type_sync: Option<String>,
    /// `sync_status` as sent: absent (`None`), `null` (`Some(None)`) or a value. Clients may
    /// echo it back unchanged on an edit; a new datasource may not carry it at all.
    pub sync_status: Option<Option<String>>,
    /// The settings given, in the kind's order: a value, or `None` to clear an optional one.
    pub settings: Vec<(&'static str, Option<String>)>,
    /// The credentials given, by their wallet names, trimmed and not empty.
    pub credentials: Vec<(String, String)>,
}

pub(crate) fn string_field<'a>(
    obj: &'a Map<String, Value>,
    field: &str,
) -> Result<Option<&'a str>> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(EngineError::invalid(field, "must be a string")),
    }
}

/// Refuses fields that are neither common, settings of `kind`, nor read-only echoes.
fn refuse_unknown_fields(obj: &Map<String, Value>, kind: DatasourceKind) -> Result<()> {
    let spec = kind.spec();
    let credentials = spec.credential_names();
    for key in obj.keys() {
        let known = COMMON_FIELDS.contains(&key.as_str())
            || READ_ONLY_FIELDS.contains(&key.as_str())
            || spec.setting(key).is_some()
            || credentials.contains(&key.as_str());
        if !known {
            let mut allowed: Vec<&str> = COMMON_FIELDS.to_vec();
            allowed.extend(spec.settings.iter().map(|s| s.name));
            allowed.extend(&credentials);
            return Err(EngineError::invalid(
                key.clone(),
                format!(
                    "is not a field of {}; expected one of: {}",
                    kind,
                    allowed.join(", ")
                ),
            ));
        }
    }
    Ok(())
}

/// Credentials of `kind` out of `given(name)`: non-empty strings; all or none where the
/// connector says so.
fn credentials_of(
    kind: DatasourceKind,
    given: impl Fn(&'static str) -> Result<Option<String>>,
) -> Result<Vec<(String, String)>> {
    let spec = kind.spec();
    let mut out = Vec::new();
    for field in spec.credential_names() {
        if let Some(v) = given(field)? {
            let v = v.trim();
            if v.is_empty() {
                return Err(EngineError::invalid(field, "must not be empty"));
            }
            out.push((field.to_owned(), v.to_owned()));
        }
    }
    if let Some(message) = spec.credentials.all_or_none
        && !out.is_empty()
        && let Some(missing) = spec
            .credential_names()
            .into_iter()
            .find(|f| !out.iter().any(|(n, _)| n == f))
    {
        return Err(EngineError::invalid(missing, message));
    }
    Ok(out)
}

/// The credentials of `kind` in a JSON body (`@refreshServiceCredentials`, or a create or
/// edit body).
pub(crate) fn credentials_from_json(
    kind: DatasourceKind,
    obj: &Map<String, Value>,
) -> Result<Vec<(String, String)>> {
    credentials_of(kind, |f| Ok(string_field(obj, f)?.map(str::to_owned)))
}

/// The credentials of `kind` in a form's inputs: empty ones left out, an access token sent as
/// the seed's `Bearer <token>`.
pub fn credentials_from_form(
    kind: DatasourceKind,
    inputs: &HashMap<String, String>,
) -> Result<Vec<(String, String)>> {
    let fields = kind.spec().credentials.fields;
    credentials_of(kind, |name| {
        let Some(c) = fields.iter().find(|c| c.name == name) else {
            return Ok(None);
        };
        Ok(inputs
            .get(c.input)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(|v| {
                if c.bearer && !v.starts_with("Bearer ") {
                    format!("Bearer {v}")
                } else {
                    v.to_owned()
                }
            }))
    })
}

impl DatasourceDraft {
    /// A REST body. `current` is the kind of the datasource being edited (`None` to create:
    /// then `@type` is required); a body naming another kind is refused.
    pub fn from_json(body: &Value, current: Option<DatasourceKind>) -> Result<Self> {
        let obj = super::json_object(body)?;
        let named = string_field(obj, "@type")?;
        let kind = match (current, named) {
            (None, Some(t)) => t.parse()?,
            (None, None) => return Err(EngineError::invalid("@type", "is required")),
            (Some(k), Some(t)) if t != k.as_str() => {
                return Err(EngineError::invalid(
                    "@type",
                    "cannot be changed; create a new datasource instead",
                ));
            }
            (Some(k), _) => k,
        };
        refuse_unknown_fields(obj, kind)?;
        let title = match obj.get("title") {
            // An explicit null empties it, which a title may not be.
            Some(Value::Null) if current.is_some() => Some(String::new()),
            _ => string_field(obj, "title")?.map(str::to_owned),
        };
        let mut settings = Vec::new();
        for s in kind.spec().settings {
            match obj.get(s.name) {
                None => {}
                Some(Value::Null) => settings.push((s.name, None)),
                Some(_) => settings.push((s.name, string_field(obj, s.name)?.map(str::to_owned))),
            }
        }
        Ok(Self {
            kind,
            title,
            type_sync: string_field(obj, "type_sync")?.map(str::to_owned),
            sync_status: obj
                .contains_key("sync_status")
                .then(|| string_field(obj, "sync_status").map(|s| s.map(str::to_owned)))
                .transpose()?,
            settings,
            credentials: credentials_from_json(kind, obj)?,
        })
    }

    /// A form's inputs by name (its other inputs are ignored). An empty setting is "not given"
    /// on a new datasource and "clear it" on an edit (`editing`).
    pub fn from_form(
        kind: DatasourceKind,
        title: &str,
        type_sync: Option<&str>,
        inputs: &HashMap<String, String>,
        editing: bool,
    ) -> Result<Self> {
        let mut settings = Vec::new();
        for s in kind.spec().settings {
            match inputs.get(s.name).map(|v| v.trim()) {
                Some(v) if !v.is_empty() => settings.push((s.name, Some(v.to_owned()))),
                Some(_) if editing => settings.push((s.name, None)),
                _ => {}
            }
        }
        Ok(Self {
            kind,
            title: Some(title.to_owned()),
            type_sync: type_sync
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
            sync_status: None,
            settings,
            credentials: credentials_from_form(kind, inputs)?,
        })
    }

    /// The settings given, as JSON (`null` to clear).
    pub(crate) fn settings_json(&self) -> Map<String, Value> {
        self.settings
            .iter()
            .map(|(k, v)| {
                (
                    (*k).to_owned(),
                    v.clone().map_or(Value::Null, Value::String),
                )
            })
            .collect()
    }
}
