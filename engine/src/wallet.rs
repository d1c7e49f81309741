//! The wallet: connector credentials encrypted at rest with XChaCha20-Poly1305 (an AEAD). The
//! key comes from configuration (`TRIBUTARY_WALLET_KEY`, base64 of 32 bytes) or from a key file
//! created on first start with mode 0600. Each secret is bound to its datasource and name
//! (associated data), so a ciphertext copied to another row does not open. Secrets are never
//! returned by the API; only whether they are set.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::error::{EngineError, Result};

#[derive(Clone)]
pub struct Wallet {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Wallet(..)")
    }
}

fn aad(datasource_id: &str, name: &str) -> Vec<u8> {
    format!("tributary-wallet-v1|{datasource_id}|{name}").into_bytes()
}

impl Wallet {
    pub fn from_key(key: &[u8; 32]) -> Self {
        Self {
            cipher: XChaCha20Poly1305::new(key.into()),
        }
    }

    /// A key from base64 text (32 bytes), as `TRIBUTARY_WALLET_KEY` holds it.
    pub fn from_base64(text: &str) -> Result<Self> {
        let bytes = STANDARD.decode(text.trim()).map_err(|_| {
            EngineError::invalid("TRIBUTARY_WALLET_KEY", "must be base64 of 32 bytes")
        })?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| {
            EngineError::invalid("TRIBUTARY_WALLET_KEY", "must be base64 of exactly 32 bytes")
        })?;
        Ok(Self::from_key(&key))
    }

    /// Reads the key file, or creates it (mode 0600) with a random key.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        if let Ok(text) = std::fs::read_to_string(path) {
            return Self::from_base64(&text).map_err(|_| {
                EngineError::Internal(format!("the wallet key file {} is damaged", path.display()))
            });
        }
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                EngineError::Internal(format!("cannot create {}: {e}", dir.display()))
            })?;
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(|e| {
            EngineError::Internal(format!(
                "cannot create the wallet key file {}: {e}",
                path.display()
            ))
        })?;
        std::io::Write::write_all(&mut f, STANDARD.encode(key).as_bytes())
            .map_err(|e| EngineError::Internal(format!("cannot write {}: {e}", path.display())))?;
        let key: [u8; 32] = key.into();
        Ok(Self::from_key(&key))
    }

    /// Encrypts `secret` for (datasource, name): `nonce|ciphertext`, base64.
    pub fn seal(&self, datasource_id: &str, name: &str, secret: &str) -> Result<String> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ct = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret.as_bytes(),
                    aad: &aad(datasource_id, name),
                },
            )
            .map_err(|_| EngineError::Internal("encrypting a secret failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend(ct);
        Ok(STANDARD.encode(out))
    }

    pub fn open(&self, datasource_id: &str, name: &str, sealed: &str) -> Result<String> {
        let broken = || {
            EngineError::Internal(format!(
                "the stored secret '{name}' does not open with this wallet key"
            ))
        };
        let bytes = STANDARD.decode(sealed).map_err(|_| broken())?;
        if bytes.len() < 24 {
            return Err(broken());
        }
        let (nonce, ct) = bytes.split_at(24);
        let plain = self
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: &aad(datasource_id, name),
                },
            )
            .map_err(|_| broken())?;
        String::from_utf8(plain).map_err(|_| broken())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_opens_and_binds_to_its_row() {
        let w = Wallet::from_key(&[7u8; 32]);
        let s = w.seal("ds1", "secret_access_key", "hunter2").unwrap();
        assert!(!s.contains("hunter2"));
        assert_eq!(w.open("ds1", "secret_access_key", &s).unwrap(), "hunter2");
        assert!(
            w.open("ds2", "secret_access_key", &s).is_err(),
            "bound to the datasource"
        );
        assert!(
            w.open("ds1", "access_key_id", &s).is_err(),
            "bound to the name"
        );
        assert!(
            Wallet::from_key(&[8u8; 32])
                .open("ds1", "secret_access_key", &s)
                .is_err()
        );
        assert_ne!(
            s,
            w.seal("ds1", "secret_access_key", "hunter2").unwrap(),
            "fresh nonce"
        );
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("wallet.key");
        let a = Wallet::load_or_create(&p).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let sealed = a.seal("d", "n", "v").unwrap();
        let b = Wallet::load_or_create(&p).unwrap();
        assert_eq!(b.open("d", "n", &sealed).unwrap(), "v");
        assert!(Wallet::from_base64("short").is_err());
    }
}
