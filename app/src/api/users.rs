//! Accounts (admins only).

use leptos::prelude::*;

use crate::error::AppError;
use crate::types::UserView;
#[cfg(feature = "ssr")]
use crate::types::said;

/// Every account (admins only).
#[server(prefix = "/rpc", endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<UserView>, AppError> {
    let actor = super::ssr::user()?;
    Ok(super::ssr::engine()?
        .list_users(&actor)
        .await?
        .into_iter()
        .map(super::ssr::user_view)
        .collect())
}

/// The *Add user* form (admins only).
#[server(prefix = "/rpc", endpoint = "create_user")]
pub async fn create_user(
    email: String,
    display_name: String,
    password: String,
    role: String,
) -> Result<UserView, AppError> {
    let actor = super::ssr::user()?;
    let body = serde_json::json!({"email": email, "display_name": display_name, "password": password, "role": role});
    let u = super::ssr::engine()?
        .admin_create_user(&actor, &body)
        .await?;
    super::ssr::flash::<CreateUser>(&said::user_added(&u.email));
    Ok(super::ssr::user_view(u))
}

/// Activates or deactivates an account, or changes its role (admins only).
#[server(prefix = "/rpc", endpoint = "update_user")]
pub async fn update_user(
    id: String,
    active: Option<String>,
    role: Option<String>,
) -> Result<UserView, AppError> {
    let actor = super::ssr::user()?;
    let mut body = serde_json::Map::new();
    if let Some(a) = active {
        body.insert("active".into(), serde_json::Value::Bool(a == "true"));
    }
    if let Some(r) = role {
        body.insert("role".into(), r.into());
    }
    let u = super::ssr::engine()?
        .update_user(&actor, &id, &serde_json::Value::Object(body))
        .await?;
    super::ssr::flash::<UpdateUser>(&said::user_updated(&u.email));
    Ok(super::ssr::user_view(u))
}
