//! Signing in and out, and my account: password and personal tokens.

use leptos::prelude::*;

use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::types::{Flash, said};
use crate::types::{Me, NewToken, TokenView};

#[server(prefix = "/rpc", endpoint = "me")]
pub async fn get_me() -> Result<Option<Me>, AppError> {
    let Some(user) = super::ssr::request_user().user else {
        return Ok(None);
    };
    let invitations = super::ssr::engine()?.count_my_invitations(&user).await?;
    Ok(Some(super::ssr::me(&user, invitations)))
}

#[server(prefix = "/rpc", endpoint = "login")]
pub async fn login(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    let engine = super::ssr::engine()?;
    let client = use_context::<axum::http::request::Parts>().and_then(|p| {
        p.extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip())
    });
    let t = engine
        .login_from(&email, &password, engine::model::TokenKind::Session, client)
        .await?;
    let max_age = (t.expires_at - chrono::Utc::now()).num_seconds().max(0);
    super::ssr::set_session_cookie(Some(&t.token), max_age);
    leptos_axum::redirect(&super::ssr::safe_next(next));
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    if let Some(token) = super::ssr::request_user().token {
        super::ssr::engine()?.logout(&token).await?;
    }
    super::ssr::set_session_cookie(None, 0);
    leptos_axum::redirect("/login");
    Ok(())
}

#[cfg(feature = "ssr")]
fn token_view(t: engine::model::TokenInfo) -> TokenView {
    TokenView {
        id: t.id,
        name: t.name,
        created_at: super::ssr::ts(t.created_at),
    }
}

#[server(prefix = "/rpc", endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<TokenView>, AppError> {
    let user = super::ssr::user()?;
    Ok(super::ssr::engine()?
        .personal_tokens(&user)
        .await?
        .into_iter()
        .map(token_view)
        .collect())
}

#[server(prefix = "/rpc", endpoint = "create_token")]
pub async fn create_token(name: String) -> Result<NewToken, AppError> {
    let user = super::ssr::user()?;
    let made = super::ssr::engine()?
        .create_personal_token(&user, &name)
        .await?;
    let new = NewToken {
        token: token_view(made.info),
        secret: made.secret,
    };
    // Without JavaScript the secret rides the redirect in the one-time cookie (HTTP-only,
    // this site only, a minute at most), as the session's own token does.
    super::ssr::flash_with::<CreateToken>(Flash {
        token: Some(new.clone()),
        ..Flash::new(true, said::TOKEN_CREATED)
    });
    Ok(new)
}

#[server(prefix = "/rpc", endpoint = "revoke_token")]
pub async fn revoke_token(token_id: String) -> Result<(), AppError> {
    let user = super::ssr::user()?;
    super::ssr::engine()?
        .revoke_personal_token(&user, &token_id)
        .await?;
    super::ssr::flash::<RevokeToken>(said::TOKEN_REVOKED);
    Ok(())
}

/// Changes my password; other sessions end, this one stays.
#[server(prefix = "/rpc", endpoint = "change_password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    let who = super::ssr::request_user();
    let user = who.user.ok_or_else(AppError::unauthorized)?;
    if new_password != confirm_password {
        return Err(AppError {
            status: 422,
            code: "invalid".into(),
            message: "the two new passwords differ".into(),
            field: Some("confirm_password".into()),
        });
    }
    super::ssr::engine()?
        .change_password(
            &user,
            who.token.as_deref(),
            &current_password,
            &new_password,
        )
        .await?;
    super::ssr::flash::<ChangePassword>(said::PASSWORD_CHANGED);
    Ok(())
}
