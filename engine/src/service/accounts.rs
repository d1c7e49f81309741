//! Accounts: password hashing, the first admin, logins and tokens.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use rand::RngCore;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Engine, json_object, new_id, refuse_unknown};
use crate::domain::{AccountRole, Email};
use crate::error::{EngineError, Result};
use crate::events::SignedOut;
use crate::model::{TokenInfo, TokenKind, User};
use crate::store::NewToken;

/// How long a browser session lasts; the cookie's Max-Age says the same.
pub const SESSION_LIFETIME: Duration = Duration::days(7);

/// The outcome of first start: the admin that was created, and the password if we generated it
/// (to be printed once).
#[derive(Debug)]
pub struct FirstAdmin {
    pub email: String,
    pub generated_password: Option<String>,
}

/// A fresh secret handed to the client once; only its hash is stored.
#[derive(Debug, Clone)]
pub struct LoginToken {
    pub token: String,
    pub user: User,
    pub expires_at: chrono::DateTime<Utc>,
}

/// A personal token just created: the secret is shown once and never again.
#[derive(Debug, Clone)]
pub struct NewPersonalToken {
    pub info: TokenInfo,
    pub secret: String,
}

pub const MIN_PASSWORD_CHARS: usize = 8;

fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| EngineError::Internal(format!("password hashing failed: {e}")))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Password hashing at most this many at once, each on a blocking thread: argon2 takes tens of
/// milliseconds of CPU, which on the async workers would stall every other request (twenty
/// wrong logins at once held a two-core server's workers for seconds).
static HASHING: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
    tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
});

/// Runs `work` (password hashing) on the bounded blocking pool.
async fn hashing<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let _turn = HASHING
        .acquire()
        .await
        .map_err(|_| EngineError::Internal("password hashing is shut down".into()))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| EngineError::Internal(format!("password hashing stopped: {e}")))
}

/// A hash of no one's password, checked for unknown accounts so that they cost exactly what a
/// known one does.
static DECOY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    hash_password(&random_secret(16)).unwrap_or_else(|_| {
        "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$0000000000000000000000000000000000000000000"
            .into()
    })
});

fn check_password_rules(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(EngineError::invalid(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

/// sha256 of a token, hex; what the database keeps.
pub(crate) fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn random_secret(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

impl Engine {
    /// Stops trusting a sign-in that just ended (in the database first): drops it from this
    /// server's cache and tells the other servers to drop it from theirs.
    fn signed_out(&self, who: SignedOut) {
        match &who {
            SignedOut::User(id) => self.auth_cache.forget_user(id),
            SignedOut::Token(hash) => self.auth_cache.forget_token(hash),
        }
        self.events.signed_out(who);
    }

    /// Creates a user. A taken e-mail is a 409; a short password a 422.
    pub async fn create_user(
        &self,
        email: &str,
        display_name: &str,
        password: &str,
        role: AccountRole,
    ) -> Result<User> {
        let email = Email::parse(email)?;
        check_password_rules(password)?;
        let now = super::now();
        let name = display_name.trim();
        let user = User {
            id: new_id(),
            display_name: if name.is_empty() {
                email
                    .as_str()
                    .split('@')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            } else {
                name.to_owned()
            },
            email: email.as_str().to_owned(),
            role,
            active: true,
            created_at: now,
            updated_at: now,
        };
        self.store
            .insert_user(&user, &hash_password(password)?)
            .await?;
        Ok(user)
    }

    /// On first start (no users at all), creates the admin from the given credentials, or with a
    /// generated password that the caller prints once. Later starts do nothing.
    pub async fn ensure_first_admin(
        &self,
        email: Option<&str>,
        password: Option<&str>,
    ) -> Result<Option<FirstAdmin>> {
        if self.store.count_users().await? > 0 {
            return Ok(None);
        }
        let email = email.unwrap_or("admin@localhost");
        let (password, generated) = match password {
            Some(p) => (p.to_owned(), None),
            None => {
                let p = random_secret(15);
                (p.clone(), Some(p))
            }
        };
        let user = self
            .create_user(email, "Administrator", &password, AccountRole::Admin)
            .await?;
        tracing::info!(email = %user.email, "created the first admin account");
        Ok(Some(FirstAdmin {
            email: user.email,
            generated_password: generated,
        }))
    }

    /// Checks an e-mail and password and issues a token of `kind`. The same message for an
    /// unknown e-mail and a wrong password, so accounts cannot be probed.
    pub async fn login(&self, email: &str, password: &str, kind: TokenKind) -> Result<LoginToken> {
        self.login_from(email, password, kind, None).await
    }

    /// [`Engine::login`] from a client address: wrong passwords are throttled per account and
    /// per address (one address guessing across many accounts is slowed too). Unknown,
    /// deactivated and known accounts cost the same work, so timing tells nothing.
    pub async fn login_from(
        &self,
        email: &str,
        password: &str,
        kind: TokenKind,
        client: Option<std::net::IpAddr>,
    ) -> Result<LoginToken> {
        let refused = || EngineError::Unauthorized("wrong e-mail or password".into());
        let address = client.map(super::throttle::address_key);
        if let Some(a) = &address {
            self.throttle.check(a)?;
        }
        let Ok(email) = Email::parse(email) else {
            if let Some(a) = &address {
                self.throttle.failed(a);
            }
            return Err(refused());
        };
        self.throttle.check(email.as_str())?;
        let creds = self.store.credentials_by_email(email.as_str()).await?;
        let hash = creds
            .as_ref()
            .map_or_else(|| DECOY.clone(), |c| c.password_hash.clone());
        let given = password.to_owned();
        let matches = hashing(move || verify_password(&given, &hash)).await?;
        let creds = match creds {
            Some(c) if matches && c.user.active => c,
            _ => {
                self.throttle.failed(email.as_str());
                if let Some(a) = &address {
                    self.throttle.failed(a);
                }
                return Err(refused());
            }
        };
        self.throttle.succeeded(email.as_str());
        let token = random_secret(32);
        let lifetime = match kind {
            TokenKind::Session => SESSION_LIFETIME,
            TokenKind::Api => Duration::hours(24),
            TokenKind::Personal => {
                return Err(EngineError::BadRequest(
                    "personal tokens are created on the account page, not by logging in".into(),
                ));
            }
        };
        let expires_at = super::now() + lifetime;
        self.store
            .insert_token(&NewToken {
                hash: &token_hash(&token),
                id: &new_id(),
                user_id: &creds.user.id,
                kind,
                name: "",
                created_at: super::now(),
                expires_at: Some(expires_at),
            })
            .await?;
        Ok(LoginToken {
            token,
            user: creds.user,
            expires_at,
        })
    }

    /// The user a token stands for; 401 if it is unknown, expired, or the user is deactivated.
    pub async fn authenticate(&self, token: &str) -> Result<User> {
        let hash = token_hash(token);
        if let Some(u) = self.auth_cache.get(&hash) {
            return Ok(u);
        }
        let generation = self.auth_cache.generation();
        let user = self
            .store
            .user_by_token(&hash, super::now())
            .await?
            .ok_or_else(|| {
                EngineError::Unauthorized("the token is invalid or has expired".into())
            })?;
        self.auth_cache.put(hash, user.clone(), generation);
        Ok(user)
    }

    pub async fn logout(&self, token: &str) -> Result<()> {
        let hash = token_hash(token);
        let deleted = self.store.delete_token(&hash).await;
        self.signed_out(SignedOut::Token(hash));
        deleted
    }

    /// Changes one's own password after checking the current one; ends every other session and
    /// login token (personal tokens stay: they are revoked one by one on the account page).
    pub async fn change_password(
        &self,
        user: &User,
        current_token: Option<&str>,
        current: &str,
        new: &str,
    ) -> Result<()> {
        let creds = self
            .store
            .credentials_by_email(&user.email)
            .await?
            .ok_or_else(|| EngineError::Unauthorized("this account no longer exists".into()))?;
        self.throttle.check(&user.email)?;
        let (given, hash) = (current.to_owned(), creds.password_hash.clone());
        if !hashing(move || verify_password(&given, &hash)).await? {
            self.throttle.failed(&user.email);
            return Err(EngineError::invalid(
                "current_password",
                "is not your current password",
            ));
        }
        check_password_rules(new).map_err(|e| match e {
            EngineError::Invalid { message, .. } => EngineError::invalid("new_password", message),
            e => e,
        })?;
        let new = new.to_owned();
        let hash = hashing(move || hash_password(&new)).await??;
        self.store
            .set_password_hash(&user.id, &hash, super::now())
            .await?;
        let keep = current_token.map(token_hash).unwrap_or_default();
        self.store.delete_sessions_except(&user.id, &keep).await?;
        self.signed_out(SignedOut::User(user.id.clone()));
        Ok(())
    }

    /// A named, long-lived token for scripts; the secret is returned once.
    pub async fn create_personal_token(&self, user: &User, name: &str) -> Result<NewPersonalToken> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(EngineError::invalid("name", "must be 1 to 100 characters"));
        }
        if self
            .store
            .list_tokens(&user.id, TokenKind::Personal)
            .await?
            .iter()
            .any(|t| t.name == name)
        {
            return Err(EngineError::invalid(
                "name",
                format!("you already have a token named '{name}'"),
            ));
        }
        // A prefix makes a leaked personal token recognisable by secret scanners.
        let secret = format!("trb_{}", random_secret(32));
        let id = new_id();
        self.store
            .insert_token(&NewToken {
                hash: &token_hash(&secret),
                id: &id,
                user_id: &user.id,
                kind: TokenKind::Personal,
                created_at: super::now(),
                name,
                expires_at: None,
            })
            .await?;
        let info = self
            .store
            .list_tokens(&user.id, TokenKind::Personal)
            .await?
            .into_iter()
            .find(|t| t.id == id)
            .ok_or_else(|| EngineError::Internal("a token just stored is missing".into()))?;
        Ok(NewPersonalToken { info, secret })
    }

    pub async fn personal_tokens(&self, user: &User) -> Result<Vec<TokenInfo>> {
        self.store.list_tokens(&user.id, TokenKind::Personal).await
    }

    /// Revokes one of the user's own personal tokens; someone else's id is a 404.
    pub async fn revoke_personal_token(&self, user: &User, id: &str) -> Result<()> {
        let hash = self
            .store
            .delete_token_by_id(&user.id, id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("token '{id}'")))?;
        self.signed_out(SignedOut::Token(hash));
        Ok(())
    }

    /// Account administration is for admins only.
    fn require_admin(actor: &User) -> Result<()> {
        if actor.role == AccountRole::Admin && actor.active {
            Ok(())
        } else {
            Err(EngineError::Forbidden(
                "only administrators can manage user accounts".into(),
            ))
        }
    }

    pub async fn list_users(&self, actor: &User) -> Result<Vec<User>> {
        Self::require_admin(actor)?;
        self.store.list_users().await
    }

    pub async fn get_user(&self, actor: &User, id: &str) -> Result<User> {
        Self::require_admin(actor)?;
        self.store
            .user_by_id(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("user '{id}'")))
    }

    /// `{"email", "password", "role"?, "display_name"?}` from an admin.
    pub async fn admin_create_user(&self, actor: &User, body: &Value) -> Result<User> {
        Self::require_admin(actor)?;
        let obj = json_object(body)?;
        refuse_unknown(obj, &["email", "password", "role", "display_name"])?;
        let email = req_str(obj, "email")?;
        let password = req_str(obj, "password")?;
        let role = match opt_str(obj, "role")? {
            Some(r) => r.parse()?,
            None => AccountRole::Member,
        };
        let name = opt_str(obj, "display_name")?.unwrap_or_default();
        self.create_user(email, name, password, role).await
    }

    /// `{"role"?, "active"?, "display_name"?}` from an admin. The last active admin can be
    /// neither demoted nor deactivated, so the instance always has someone who can manage it.
    pub async fn update_user(&self, actor: &User, id: &str, body: &Value) -> Result<User> {
        let mut user = self.get_user(actor, id).await?;
        let obj = json_object(body)?;
        refuse_unknown(
            obj,
            &[
                "role",
                "active",
                "display_name",
                "id",
                "email",
                "@id",
                "@type",
                "created",
                "modified",
            ],
        )?;
        if let Some(r) = opt_str(obj, "role")? {
            user.role = r.parse()?;
        }
        match obj.get("active") {
            None | Some(Value::Null) => {}
            Some(Value::Bool(b)) => user.active = *b,
            Some(_) => return Err(EngineError::invalid("active", "must be true or false")),
        }
        if let Some(n) = opt_str(obj, "display_name")? {
            let n = n.trim();
            if n.is_empty() || n.chars().count() > 100 {
                return Err(EngineError::invalid(
                    "display_name",
                    "must be 1 to 100 characters",
                ));
            }
            user.display_name = n.to_owned();
        }
        let was_admin = self
            .store
            .user_by_id(id)
            .await?
            .is_some_and(|u| u.role == AccountRole::Admin && u.active);
        let still_admin = user.role == AccountRole::Admin && user.active;
        if was_admin && !still_admin && self.store.count_active_admins().await? <= 1 {
            return Err(EngineError::Conflict(
                "this is the last active administrator; make another admin first".into(),
            ));
        }
        user.updated_at = super::now();
        self.store.update_user(&user).await?;
        let ended = if user.active {
            Ok(())
        } else {
            self.store.delete_user_tokens(&user.id).await
        };
        self.signed_out(SignedOut::User(user.id.clone()));
        ended?;
        Ok(user)
    }

    /// Sets a new password (the server's `user reset-password` command) and ends every session.
    pub async fn reset_password(&self, email: &str, password: &str) -> Result<User> {
        let email = Email::parse(email)?;
        check_password_rules(password)?;
        let creds = self
            .store
            .credentials_by_email(email.as_str())
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("user '{}'", email.as_str())))?;
        self.store
            .set_password_hash(&creds.user.id, &hash_password(password)?, super::now())
            .await?;
        self.store.delete_user_tokens(&creds.user.id).await?;
        self.signed_out(SignedOut::User(creds.user.id.clone()));
        self.throttle.succeeded(email.as_str());
        Ok(creds.user)
    }
}

fn opt_str<'a>(obj: &'a serde_json::Map<String, Value>, field: &str) -> Result<Option<&'a str>> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(EngineError::invalid(field, "must be a string")),
    }
}

fn req_str<'a>(obj: &'a serde_json::Map<String, Value>, field: &str) -> Result<&'a str> {
    opt_str(obj, field)?.ok_or_else(|| EngineError::invalid(field, "is required"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash_password("correct horse").unwrap();
        let b = hash_password("correct horse").unwrap();
        assert_ne!(a, b, "salted");
        assert!(verify_password("correct horse", &a));
        assert!(!verify_password("wrong horse", &a));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn token_hash_is_sha256_hex() {
        assert_eq!(token_hash("abc").len(), 64);
        assert_ne!(token_hash("abc"), token_hash("abd"));
    }
}
