//! The REST API under `/api`, for scripts. Guillotina-style: every object carries its own URL
//! in `@id` and its kind in `@type`; the seed's endpoints hang off a datasource's URL.

pub mod datasources;
pub mod error;
pub mod events;
pub mod json;
pub mod login;
pub mod openapi;
pub mod query;
pub mod repr;
pub mod search;
pub mod sharing;
pub mod syncing;
pub mod users;

use axum::Router;
use axum::routing::{delete, get, post};

use crate::startup::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/@login", post(login::login))
        .route(
            "/datasources",
            get(datasources::list).post(datasources::create),
        )
        .route("/datasources/@bulk", post(syncing::bulk))
        .route(
            "/datasources/{id}",
            get(datasources::get)
                .patch(datasources::update)
                .delete(datasources::delete),
        )
        .route(
            "/datasources/{id}/@getAllChildren",
            get(datasources::children_get).post(datasources::children_post),
        )
        .route(
            "/datasources/{id}/resources/{rid}",
            get(datasources::resource),
        )
        .route(
            "/datasources/{id}/resources/{rid}/@sendToCompute",
            get(search::compute_resource).post(search::compute_resource_post),
        )
        .route(
            "/datasources/{id}/@sendToCompute",
            get(search::compute_datasource).post(search::compute_datasource_post),
        )
        .route("/datasources/{id}/@frontsearch", post(search::within))
        .route("/@frontsearch", post(search::everywhere))
        .route(
            "/datasources/{id}/@sharing",
            get(sharing::get).post(sharing::change),
        )
        .route("/datasources/{id}/@invite", post(sharing::invite))
        .route(
            "/datasources/{id}/@invite/{invitation}",
            delete(sharing::revoke),
        )
        .route(
            "/datasources/{id}/@sendToSpyder",
            get(syncing::send_to_spyder).post(syncing::send_to_spyder_post),
        )
        .route("/datasources/{id}/@pause", post(syncing::pause))
        .route("/datasources/{id}/@resume", post(syncing::resume))
        .route("/datasources/{id}/@history", get(syncing::history))
        .route(
            "/datasources/{id}/@refreshServiceCredentials",
            post(syncing::refresh_credentials),
        )
        .route("/invitations", get(sharing::mine))
        .route("/invitations/{id}/@accept", post(sharing::accept))
        .route("/invitations/{id}/@decline", post(sharing::decline))
        .route("/@me", get(sharing::me))
        .route("/@events", get(events::events))
        .route(
            "/@me/tokens",
            get(sharing::tokens).post(sharing::create_token),
        )
        .route("/@me/tokens/{id}", delete(sharing::revoke_token))
        .route("/@me/@password", post(sharing::change_password))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{id}", get(users::get).patch(users::update))
        .route("/openapi.json", get(openapi::document))
        .fallback(|| async {
            error::ApiError(engine::EngineError::NotFound("this API route".into()))
        })
        // axum adds the `Allow` header naming the methods the route takes.
        .method_not_allowed_fallback(method_not_allowed)
}

/// 405 in the API's error shape, saying which method was refused.
async fn method_not_allowed(method: axum::http::Method) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = serde_json::json!({"error": {
        "code": "method_not_allowed",
        "message": format!("{method} is not allowed here; the Allow header lists what is"),
        "field": null,
    }});
    (axum::http::StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}
