//! `/api/openapi.json`: the REST API described for clients and fuzzers. A test checks that
//! every path and method here answers (not 404/405), so the document cannot drift from the
//! router unnoticed.

use axum::Json;
use serde_json::{Value, json};

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn ok(description: &str, schema: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

fn id_param() -> Value {
    json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}})
}

fn paging_params() -> Value {
    json!([
        {"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 20}},
        {"name": "scroll", "in": "query", "schema": {"type": "string"}, "description": "the cursor of the previous answer"}
    ])
}

/// The kinds that have a setting or credential called `name`, as "S3Datasource, ...".
fn owners(name: &str) -> String {
    engine::connector::specs()
        .filter(|s| s.setting(name).is_some() || s.credential_names().contains(&name))
        .map(|s| s.kind.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every connector's settings as properties (from the registry): a setting several kinds share
/// is one property naming them all.
fn settings_properties(nullable: bool) -> serde_json::Map<String, Value> {
    let mut props = serde_json::Map::new();
    for spec in engine::connector::specs() {
        for setting in spec.settings {
            props.entry(setting.name).or_insert_with(|| {
                let mut p = json!({"type": "string", "description": format!("{}: {}", owners(setting.name), setting.help)});
                if nullable && !setting.required {
                    p["nullable"] = json!(true);
                }
                p
            });
        }
    }
    props
}

/// Every connector's credentials as properties (from the registry).
fn credential_properties() -> serde_json::Map<String, Value> {
    let mut props = serde_json::Map::new();
    for spec in engine::connector::specs() {
        for c in spec.credentials.fields {
            props.entry(c.name).or_insert_with(|| {
                let shape = if c.bearer { " (`Bearer <token>`)" } else { "" };
                json!({"type": "string", "description": format!("{}: {}{shape}; kept in the wallet, never returned", owners(c.name), c.label)})
            });
        }
    }
    props
}

fn sync_type_note() -> String {
    engine::connector::specs()
        .filter(|s| s.sync_types.len() < engine::domain::SyncType::ALL.len())
        .map(|s| {
            let only: Vec<&str> = s.sync_types.iter().map(|t| t.as_str()).collect();
            format!("{} accepts only `{}`", s.kind, only.join("`, `"))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `POST /api/datasources`: the common fields, then every connector's settings and credentials.
fn datasource_input() -> Value {
    let kinds: Vec<&str> = engine::connector::specs()
        .map(|s| s.kind.as_str())
        .collect();
    let mut props = serde_json::Map::new();
    props.insert("@type".into(), json!({"type": "string", "enum": kinds}));
    props.insert(
        "title".into(),
        json!({"type": "string", "minLength": 1, "maxLength": 200}),
    );
    props.insert(
        "type_sync".into(),
        json!({"type": "string", "enum": ["auto", "one", "arch"], "description": sync_type_note()}),
    );
    props.extend(settings_properties(false));
    props.extend(credential_properties());
    json!({"type": "object", "required": ["@type", "title"], "properties": props})
}

/// `PATCH /api/datasources/{id}`: title, sync type and settings (`null` clears an optional one).
fn datasource_patch() -> Value {
    let mut props = serde_json::Map::new();
    props.insert("title".into(), json!({"type": "string"}));
    props.insert(
        "type_sync".into(),
        json!({"type": "string", "enum": ["auto", "one", "arch"]}),
    );
    props.extend(settings_properties(true));
    json!({"type": "object", "properties": props})
}

/// `@refreshServiceCredentials`: each kind's credentials.
fn credentials() -> Value {
    let per_kind: Vec<String> = engine::connector::specs()
        .filter(|s| !s.credentials.fields.is_empty())
        .map(|s| format!("{}: {}", s.label, s.credential_names().join(", ")))
        .collect();
    json!({"type": "object", "description": per_kind.join("; "), "properties": credential_properties()})
}

/// The filters and order of `GET /api/datasources`, besides paging.
fn listing_params() -> Value {
    let statuses: Vec<&str> = engine::domain::SyncStatus::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    let kinds: Vec<&str> = engine::connector::specs()
        .map(|s| s.kind.as_str())
        .collect();
    let sorts: Vec<&str> = engine::domain::DatasourceSort::ALL
        .iter()
        .map(|s| s.as_str())
        .collect();
    let mut params = paging_params().as_array().cloned().unwrap_or_default();
    params.extend([
        json!({"name": "status", "in": "query", "schema": {"type": "string", "enum": statuses}, "description": "only datasources in this status (`invited`: pending invitations)"}),
        json!({"name": "kind", "in": "query", "schema": {"type": "string", "enum": kinds}, "description": "only datasources of this `@type`"}),
        json!({"name": "type_sync", "in": "query", "schema": {"type": "string", "enum": ["auto", "one", "arch"]}}),
        json!({"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 200}, "description": "titles containing this text (case-insensitive)"}),
        json!({"name": "sort", "in": "query", "schema": {"type": "string", "enum": sorts, "default": "oldest"}, "description": "`-` means largest first; `status` puts problems first"}),
    ]);
    Value::Array(params)
}

pub fn spec() -> Value {
    let errors = json!({
        "400": error_response("malformed request"),
        "401": error_response("missing or invalid token"),
        "403": error_response("your role does not allow it, or a cross-site request"),
        "404": error_response("not found (or not yours)"),
        "409": error_response("conflicts with the current state"),
        "422": error_response("a field is invalid; `field` names it"),
        "429": {"description": "too many attempts (wrong passwords, open event streams); `Retry-After` says when to try again",
                "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    });
    let with_errors = |mut responses: Value| {
        if let (Some(r), Some(e)) = (responses.as_object_mut(), errors.as_object()) {
            for (k, v) in e {
                r.entry(k.clone()).or_insert(v.clone());
            }
        }
        responses
    };
    let mut id_and_paging = vec![id_param()];
    id_and_paging.extend(paging_params().as_array().cloned().unwrap_or_default());
    let mut doc = json!({
        "openapi": "3.0.3",
        "info": {"title": "Tributary API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Datasources, their children and the seed's endpoints. Send `Authorization: Bearer <token>`; JSON bodies are accepted with or without a Content-Type."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": {
            "/api/@login": {"post": {
                "summary": "Exchange a username and password for a token",
                "security": [],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Login"}}}},
                "responses": with_errors(json!({"200": ok("a token", "Token")}))
            }},
            "/api/datasources": {
                "get": {"summary": "List my datasources, filtered and sorted", "parameters": listing_params(),
                        "responses": with_errors(json!({"200": ok("one page", "DatasourcePage")}))},
                "post": {"summary": "Create a datasource",
                         "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DatasourceInput"}}}},
                         "responses": with_errors(json!({"201": ok("created", "Datasource")}))}
            },
            "/api/datasources/@bulk": {
                "post": {"summary": "Sync, pause or resume several datasources; each one's outcome",
                         "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BulkAction"}}}},
                         "responses": with_errors(json!({"200": ok("one outcome per datasource", "BulkOutcomes")}))}
            },
            "/api/datasources/{id}": {
                "parameters": [id_param()],
                "get": {"summary": "Read a datasource", "responses": with_errors(json!({"200": ok("the datasource", "Datasource")}))},
                "patch": {"summary": "Edit title, sync type or settings",
                          "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DatasourcePatch"}}}},
                          "responses": with_errors(json!({"200": ok("the edited datasource", "Datasource")}))},
                "delete": {"summary": "Delete a datasource and what was collected from it",
                           "responses": with_errors(json!({"204": {"description": "deleted"}}))}
            },
            "/api/datasources/{id}/@getAllChildren": {
                "get": {"summary": "Page through the children", "parameters": id_and_paging,
                        "responses": with_errors(json!({"200": ok("one page", "ResourcePage")}))},
                "post": {"summary": "Page through the children (the seed's form)", "parameters": [id_param()],
                         "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Paging"}}}},
                         "responses": with_errors(json!({"200": ok("one page", "ResourcePage")}))}
            },
            "/api/users": {
                "get": {"summary": "List user accounts (admins)", "responses": with_errors(json!({"200": ok("every user", "UserList"), "403": error_response("not an admin")}))},
                "post": {"summary": "Create a user account (admins)",
                         "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserInput"}}}},
                         "responses": with_errors(json!({"201": ok("created", "User"), "403": error_response("not an admin")}))}
            },
            "/api/users/{id}": {
                "parameters": [id_param()],
                "get": {"summary": "Read a user account (admins)", "responses": with_errors(json!({"200": ok("the user", "User")}))},
                "patch": {"summary": "Change role, active flag or display name (admins)",
                          "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UserPatch"}}}},
                          "responses": with_errors(json!({"200": ok("the user", "User")}))}
            },
            "/api/datasources/{id}/resources/{rid}": {"get": {
                "summary": "Read one child",
                "parameters": [id_param(), {"name": "rid", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": with_errors(json!({"200": ok("the resource", "Resource")}))
            }}
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object",
                    "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string", "nullable": true}}}}},
                "BulkAction": {"type": "object", "required": ["action", "ids"], "properties": {
                    "action": {"type": "string", "enum": ["sync", "pause", "resume"]},
                    "ids": {"type": "array", "minItems": 1, "maxItems": 100, "items": {"type": "string"}}}},
                "BulkOutcomes": {"type": "object", "properties": {"action": {"type": "string"}, "items": {"type": "array", "items": {"type": "object",
                    "properties": {"@id": {"type": "string"}, "id": {"type": "string"}, "title": {"type": "string", "nullable": true},
                                   "ok": {"type": "boolean"}, "sync_status": {"type": "string", "nullable": true},
                                   "error": {"type": "object", "nullable": true}}}}}},
                "Login": {"type": "object", "required": ["username", "password"],
                          "properties": {"username": {"type": "string"}, "password": {"type": "string"}}},
                "User": {"type": "object", "properties": {"@id": {"type": "string"}, "@type": {"type": "string"}, "id": {"type": "string"},
                    "email": {"type": "string"}, "display_name": {"type": "string"}, "role": {"type": "string", "enum": ["admin", "member"]},
                    "active": {"type": "boolean"}}},
                "UserList": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/User"}}, "total": {"type": "integer"}}},
                "UserInput": {"type": "object", "required": ["email", "password"], "properties": {"email": {"type": "string"},
                    "password": {"type": "string", "minLength": 8}, "role": {"type": "string", "enum": ["admin", "member"]}, "display_name": {"type": "string"}}},
                "UserPatch": {"type": "object", "properties": {"role": {"type": "string", "enum": ["admin", "member"]}, "active": {"type": "boolean"},
                    "display_name": {"type": "string"}}},
                "Token": {"type": "object", "properties": {"token": {"type": "string"}, "expires": {"type": "string", "format": "date-time"}}},
                "DatasourceInput": datasource_input(),
                "DatasourcePatch": datasource_patch(),
                "Datasource": {"type": "object", "required": ["@id", "@type", "id", "title", "type_sync", "sync_status"], "properties": {
                    "@id": {"type": "string"}, "@type": {"type": "string"}, "id": {"type": "string"}, "title": {"type": "string"},
                    "type_sync": {"type": "string", "enum": ["auto", "one", "arch"]},
                    "sync_status": {"type": "string", "enum": ["created", "pending", "syncing", "synced", "failed", "error", "paused", "resuming", "invited"]},
                    "status_reason": {"type": "string", "nullable": true}, "owner": {"type": "string"},
                    "resource_count": {"type": "integer"}, "byte_count": {"type": "integer"},
                    "sync_progress": {"type": "object", "description": "while a run is under way or paused (single GET only)", "properties": {
                        "seen": {"type": "integer"}, "added": {"type": "integer"}, "updated": {"type": "integer"},
                        "listed": {"type": "boolean"}, "expected": {"type": "integer", "nullable": true}}},
                    "created": {"type": "string", "format": "date-time"}, "modified": {"type": "string", "format": "date-time"}}},
                "Resource": {"type": "object", "required": ["@id", "@type", "id"], "properties": {
                    "@id": {"type": "string"}, "@type": {"type": "string"}, "id": {"type": "string"}, "parent": {"type": "string"},
                    "source_id": {"type": "string"}, "path": {"type": "string"}, "name": {"type": "string"}, "kind": {"type": "string"},
                    "size": {"type": "integer"}, "media_type": {"type": "string", "nullable": true},
                    "processing_status": {"type": "string"}}},
                "Paging": {"type": "object", "properties": {"page_size": {"type": "integer", "minimum": 1, "maximum": 1000},
                                                            "scroll": {"type": "string", "nullable": true}}},
                "DatasourcePage": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Datasource"}},
                                                                    "cursor": {"type": "string", "nullable": true}, "total": {"type": "integer"}}},
                "ResourcePage": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Resource"}},
                                                                  "cursor": {"type": "string", "nullable": true}, "total": {"type": "integer"}}}
            }
        }
    });
    extend(&mut doc, &with_errors);
    extend_search(&mut doc, &with_errors);
    link_created_datasource(&mut doc);
    doc
}

/// Links from a created datasource to every operation on one datasource (its `id` fills the
/// path), so that clients and fuzzers can follow them.
fn link_created_datasource(doc: &mut Value) {
    let mut links = serde_json::Map::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            let Some(rest) = path.strip_prefix("/api/datasources/{id}") else {
                continue;
            };
            if rest.contains('{') {
                continue;
            }
            let methods = item.as_object().into_iter().flat_map(|o| o.keys());
            for method in methods
                .filter(|m| matches!(m.as_str(), "get" | "post" | "put" | "patch" | "delete"))
            {
                let pointer = path.replace('~', "~0").replace('/', "~1");
                let name: String = format!("{method}{rest}")
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                links.insert(
                    name,
                    json!({"operationRef": format!("#/paths/{pointer}/{method}"),
                           "parameters": {"id": "$response.body#/id"}}),
                );
            }
        }
    }
    doc["paths"]["/api/datasources"]["post"]["responses"]["201"]["links"] = Value::Object(links);
}

/// Search and processing: added to the document built by [`spec`].
fn extend_search(doc: &mut Value, with_errors: &dyn Fn(Value) -> Value) {
    let rid = json!({"name": "rid", "in": "path", "required": true, "schema": {"type": "string"}});
    let search = |summary: &str, params: Value| {
        json!({"post": {"summary": summary, "parameters": params, "requestBody": body("SearchRequest"),
                        "responses": with_errors(json!({"200": ok("hits, best first", "SearchResults")}))}})
    };
    let queued = json!({"202": {"description": "queued", "content": {"application/json": {"schema": {
        "type": "object", "properties": {"queued": {"type": "integer"}}}}}}});
    let paths = json!({
        "/api/@frontsearch": search("Search everything I have a role on", json!([])),
        "/api/datasources/{id}/@frontsearch": search("Search within one datasource (members)", json!([id_param()])),
        "/api/datasources/{id}/@sendToCompute": {"get": {
            "summary": "Process every resource of the datasource again (editors, owners)", "parameters": [id_param()],
            "responses": with_errors(queued.clone())}, "post": {
            "summary": "The same as GET (a body, if any, has no fields)", "parameters": [id_param()],
            "responses": with_errors(queued.clone())}},
        "/api/datasources/{id}/resources/{rid}/@sendToCompute": {"get": {
            "summary": "Process one resource again (editors, owners)", "parameters": [id_param(), rid.clone()],
            "responses": with_errors(queued.clone())}, "post": {
            "summary": "The same as GET (a body, if any, has no fields)", "parameters": [id_param(), rid],
            "responses": with_errors(queued)}}
    });
    let text_contains = json!({"type": "object", "description":
        "{\"and\": [...], \"or\": [...], \"and_not\": [...]} of {\"text_contains\": [{\"var\": \"extracted_text\"}, \"words\"]}, nestable"});
    let schemas = json!({
        "SearchRequest": {"type": "object", "properties": {
            "query": {"type": "string", "description": "words (all required), \"exact phrase\", prefix*, -excluded, a OR b"},
            "advanced": text_contains,
            "size": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
            "scroll": {"type": "string", "description": "the cursor of the previous page"},
            "filters": {"type": "object", "properties": {
                "media_type": {"type": "string", "description": "exact (application/pdf) or a family (text/)"},
                "modified_after": {"type": "string", "description": "date or RFC 3339 time"},
                "modified_before": {"type": "string", "description": "date or RFC 3339 time"},
                "path_prefix": {"type": "string"}}}}},
        "SearchResults": {"type": "object", "properties": {
            "items": {"type": "array", "items": {"allOf": [{"$ref": "#/components/schemas/Resource"}, {"type": "object", "properties": {
                "score": {"type": "number"}, "snippet": {"type": "string", "description": "HTML, matches in <mark>"}}}]}},
            "total": {"type": "integer"}, "cursor": {"type": "string", "nullable": true}}}
    });
    merge(doc, paths, schemas);
}

fn body(schema: &str) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{schema}")}}}})
}

/// Sharing, invitations and my account: added to the document built by [`spec`].
fn extend(doc: &mut Value, with_errors: &dyn Fn(Value) -> Value) {
    let forbidden = error_response("your role does not allow it (or you are only invited)");
    let inv_param =
        json!({"name": "invitation", "in": "path", "required": true, "schema": {"type": "string"}});
    let paths = json!({
        "/api/datasources/{id}/@sharing": {
            "parameters": [id_param()],
            "get": {"summary": "Who has which role, and pending invitations (any member)",
                    "responses": with_errors(json!({"200": ok("members and invitations", "Sharing"), "403": forbidden}))},
            "post": {"summary": "Change members' roles; a null role removes (owners)", "requestBody": body("RolesChange"),
                     "responses": with_errors(json!({"200": ok("members and invitations", "Sharing"), "403": forbidden}))}
        },
        "/api/datasources/{id}/@invite": {"post": {
            "summary": "Invite an e-mail with a role (owners)", "parameters": [id_param()], "requestBody": body("InvitationInput"),
            "responses": with_errors(json!({"201": ok("the invitation", "Invitation"), "403": forbidden}))
        }},
        "/api/datasources/{id}/@invite/{invitation}": {"delete": {
            "summary": "Revoke a pending invitation (owners)", "parameters": [id_param(), inv_param],
            "responses": with_errors(json!({"204": {"description": "revoked"}, "403": forbidden}))
        }},
        "/api/datasources/{id}/@sendToSpyder": {"get": {
            "summary": "Queue a sync now (editors and owners); the live job if one is queued or running",
            "parameters": [id_param(), {"name": "force", "in": "query", "schema": {"type": "boolean"},
                           "description": "collect a one-time datasource again"}],
            "responses": with_errors(json!({"202": ok("the job", "SyncJob"), "403": forbidden.clone()}))
        }, "post": {
            "summary": "The same as GET; force may also come as {\"force\": true} in the body",
            "parameters": [id_param(), {"name": "force", "in": "query", "schema": {"type": "boolean"}}],
            "requestBody": {"required": false, "content": {"application/json": {"schema": {"type": "object",
                "properties": {"force": {"type": "boolean"}}, "additionalProperties": false}}}},
            "responses": with_errors(json!({"202": ok("the job", "SyncJob"), "403": forbidden.clone()}))
        }},
        "/api/datasources/{id}/@pause": {"post": {
            "summary": "Pause: a running sync stops at its next checkpoint", "parameters": [id_param()],
            "responses": with_errors(json!({"200": ok("the datasource", "Datasource"), "403": forbidden.clone()}))
        }},
        "/api/datasources/{id}/@resume": {"post": {
            "summary": "Resume from the checkpoint", "parameters": [id_param()],
            "responses": with_errors(json!({"200": ok("the datasource", "Datasource"), "403": forbidden.clone()}))
        }},
        "/api/datasources/{id}/@history": {"get": {
            "summary": "Sync runs, newest first", "parameters": [id_param()],
            "responses": with_errors(json!({"200": ok("the runs", "SyncHistory")}))
        }},
        "/api/datasources/{id}/@refreshServiceCredentials": {"post": {
            "summary": "Replace the credentials in the wallet (editors and owners); never echoed",
            "parameters": [id_param()], "requestBody": body("Credentials"),
            "responses": with_errors(json!({"204": {"description": "stored"}, "403": forbidden.clone()}))
        }},
        "/api/invitations": {"get": {
            "summary": "The pending invitations addressed to me",
            "responses": with_errors(json!({"200": ok("my invitations", "InvitationList")}))
        }},
        "/api/invitations/{id}/@accept": {"post": {
            "summary": "Accept: gain the invitation's role", "parameters": [id_param()],
            "responses": with_errors(json!({"200": ok("the accepted invitation", "Invitation")}))
        }},
        "/api/invitations/{id}/@decline": {"post": {
            "summary": "Decline", "parameters": [id_param()],
            "responses": with_errors(json!({"200": ok("the declined invitation", "Invitation")}))
        }},
        "/api/@me": {"get": {"summary": "Who I am, with my pending invitation count",
                             "responses": with_errors(json!({"200": ok("me", "User")}))}},
        "/api/@me/tokens": {
            "get": {"summary": "My personal tokens (names, never secrets)", "responses": with_errors(json!({"200": ok("my tokens", "TokenList")}))},
            "post": {"summary": "Create a long-lived personal token; its secret is in this answer only",
                     "requestBody": body("TokenInput"), "responses": with_errors(json!({"201": ok("the token with its secret", "PersonalToken")}))}
        },
        "/api/@me/tokens/{id}": {"delete": {"summary": "Revoke one of my personal tokens", "parameters": [id_param()],
                                            "responses": with_errors(json!({"204": {"description": "revoked"}}))}},
        "/api/@me/@password": {"post": {"summary": "Change my password; my other sessions end", "requestBody": body("PasswordChange"),
                                        "responses": with_errors(json!({"204": {"description": "changed"}}))}},
        "/api/@events": {"get": {
            "summary": "Server-sent events: every change to a datasource I may see, as it happens",
            "description": "text/event-stream. Events: `ready` (once, at the start), `status` ({datasource_id, sync_status, status_reason}), `progress` ({datasource_id, seen, added, updated, listed, expected}), `updated` and `deleted` ({datasource_id}), and `missed` ({missed: n}) when this stream fell behind and the client should refetch. A stream ends after five minutes; EventSource reconnects by itself.",
            "responses": with_errors(json!({"200": {"description": "the event stream", "content": {"text/event-stream": {"schema": {"type": "object", "description": "one event", "properties": {"event": {"type": "string", "enum": ["ready", "status", "progress", "processed", "updated", "deleted", "missed"]}, "data": {"type": "string", "description": "JSON"}, "retry": {"type": "integer"}, "id": {"type": "string"}}}}}}}))
        }}
    });
    let role = json!({"type": "string", "enum": ["owner", "editor", "viewer"]});
    let schemas = json!({
        "Sharing": {"type": "object", "properties": {
            "members": {"type": "array", "items": {"type": "object", "properties": {"user": {"type": "string"}, "email": {"type": "string"},
                "display_name": {"type": "string"}, "role": role}}},
            "invitations": {"type": "array", "items": {"$ref": "#/components/schemas/Invitation"}}}},
        "RolesChange": {"type": "object", "required": ["roles"], "properties": {"roles": {"type": "array", "minItems": 1, "items": {
            "type": "object", "required": ["user", "role"], "properties": {"user": {"type": "string", "description": "user id or e-mail"},
            "role": {"type": "string", "enum": ["owner", "editor", "viewer"], "nullable": true}}}}}},
        "SyncJob": {"type": "object", "properties": {"@type": {"type": "string"}, "id": {"type": "string"},
            "datasource": {"type": "string"}, "state": {"type": "string", "enum": ["queued", "running", "paused", "done", "failed"]},
            "force": {"type": "boolean"}, "run_after": {"type": "string", "format": "date-time"}, "attempts": {"type": "integer"},
            "new": {"type": "boolean"}}},
        "SyncHistory": {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {
            "started": {"type": "string", "format": "date-time"}, "finished": {"type": "string", "format": "date-time", "nullable": true},
            "outcome": {"type": "string"}, "added": {"type": "integer"}, "updated": {"type": "integer"}, "deleted": {"type": "integer"},
            "error": {"type": "string", "nullable": true}}}}, "total": {"type": "integer"}}},
        "Credentials": credentials(),
        "InvitationInput": {"type": "object", "required": ["email"], "properties": {"email": {"type": "string"}, "role": role}},
        "Invitation": {"type": "object", "properties": {"@id": {"type": "string"}, "@type": {"type": "string"}, "id": {"type": "string"},
            "datasource": {"type": "string"}, "email": {"type": "string"}, "role": role,
            "status": {"type": "string", "enum": ["pending", "accepted", "declined", "revoked"]}, "invited_by": {"type": "string"}}},
        "InvitationList": {"type": "object", "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Invitation"}}, "total": {"type": "integer"}}},
        "TokenInput": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string", "maxLength": 100}}},
        "PersonalToken": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "token": {"type": "string"},
            "created": {"type": "string", "format": "date-time"}}},
        "TokenList": {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "string"}, "name": {"type": "string"}, "created": {"type": "string", "format": "date-time"}}}}, "total": {"type": "integer"}}},
        "PasswordChange": {"type": "object", "required": ["current_password", "new_password"], "properties": {
            "current_password": {"type": "string"}, "new_password": {"type": "string", "minLength": 8}}}
    });
    merge(doc, paths, schemas);
}

/// Adds `paths` and `schemas` to the document.
fn merge(doc: &mut Value, paths: Value, schemas: Value) {
    for (section, add) in [("paths", paths), ("schemas", schemas)] {
        let target = if section == "paths" {
            &mut doc["paths"]
        } else {
            &mut doc["components"]["schemas"]
        };
        if let (Some(t), Value::Object(a)) = (target.as_object_mut(), add) {
            t.extend(a);
        }
    }
}

pub async fn document() -> Json<Value> {
    Json(spec())
}
