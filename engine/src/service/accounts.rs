//! Accounts: password hashing, the first admin, logins and tokens.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{Engine, new_id};
use crate::domain::{AccountRole, Email};
use crate::error::{EngineError, Result};
use crate::model::{TokenKind, User};

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
        let refused = || EngineError::Unauthorized("wrong e-mail or password".into());
        let email = Email::parse(email).map_err(|_| refused())?;
        let Some(creds) = self.store.credentials_by_email(email.as_str()).await? else {
            // Hash anyway so an unknown account costs the same time as a wrong password.
            let _ = hash_password(password);
            return Err(refused());
        };
        if !creds.user.active || !verify_password(password, &creds.password_hash) {
            return Err(refused());
        }
        let token = random_secret(32);
        let lifetime = match kind {
            TokenKind::Session => Duration::days(7),
            TokenKind::Api => Duration::hours(24),
        };
        let expires_at = super::now() + lifetime;
        self.store
            .insert_token(&token_hash(&token), &creds.user.id, kind, Some(expires_at))
            .await?;
        Ok(LoginToken {
            token,
            user: creds.user,
            expires_at,
        })
    }

    /// The user a token stands for; 401 if it is unknown, expired, or the user is deactivated.
    pub async fn authenticate(&self, token: &str) -> Result<User> {
        self.store
            .user_by_token(&token_hash(token), super::now())
            .await?
            .ok_or_else(|| EngineError::Unauthorized("the token is invalid or has expired".into()))
    }

    pub async fn logout(&self, token: &str) -> Result<()> {
        self.store.delete_token(&token_hash(token)).await
    }
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
