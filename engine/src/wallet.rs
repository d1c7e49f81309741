//! The wallet: connector credentials encrypted at rest with XChaCha20-Poly1305 (an AEAD). The
//! key comes from configuration (`TRIBUTARY_WALLET_KEY`, base64 of 32 bytes) or from a key file
//! created on first start with mode 0600. Each secret is bound to its datasource, its name and
//! its *destination* (associated data): the settings that say where the secret is sent (an
//! endpoint, an app key, a bucket). A ciphertext copied to another row does not open, and
//! neither does a secret whose datasource was pointed somewhere else since it was stored: a
//! token given for one server can never be sent to another. Secrets are never returned by the
//! API; only whether they are set.

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

/// Writes `bytes` to a new file at `path`, readable by its owner only, and makes it durable.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Associated data of secrets sealed before destinations were bound (no prefix on the text).
fn aad_v1(datasource_id: &str, name: &str) -> Vec<u8> {
    format!("tributary-wallet-v1|{datasource_id}|{name}").into_bytes()
}

fn aad_v2(datasource_id: &str, name: &str, destination: &str) -> Vec<u8> {
    format!("tributary-wallet-v2|{datasource_id}|{name}|{destination}").into_bytes()
}

/// The prefix of secrets bound to their destination.
const V2: &str = "v2:";

/// What [`Wallet::open`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// Sealed for this destination.
    Bound(String),
    /// Sealed before destinations were bound: the caller seals it again for the destination it
    /// has now (once, on the first use after the upgrade).
    Unbound(String),
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
    ///
    /// The new key is written whole to a file of its own, made durable, and only then linked
    /// under the final name, which fails if the name exists. So processes starting together on
    /// a new data directory (two servers, a server and a command) all end up with the one key
    /// that won, never with one another replaced, and nobody ever reads a half-written file;
    /// a crash leaves either no key file or a complete one.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => return Self::from_key_file(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(EngineError::Internal(format!(
                    "cannot read the wallet key file {}: {e}",
                    path.display()
                )));
            }
        }
        let key = XChaCha20Poly1305::generate_key(&mut OsRng);
        let dir = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .map_err(|e| EngineError::Internal(format!("cannot create {}: {e}", dir.display())))?;
        let tmp = dir.join(format!(".wallet-key-{}.tmp", uuid::Uuid::new_v4().simple()));
        let written = write_private(&tmp, STANDARD.encode(key).as_bytes());
        let linked = written.and_then(|()| std::fs::hard_link(&tmp, path));
        let _ = std::fs::remove_file(&tmp);
        match linked {
            Ok(()) => {
                // The new name is durable once the directory is.
                if let Ok(d) = std::fs::File::open(dir) {
                    let _ = d.sync_all();
                }
                let key: [u8; 32] = key.into();
                Ok(Self::from_key(&key))
            }
            // Another process created it first: use the key it wrote.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    EngineError::Internal(format!("cannot read {}: {e}", path.display()))
                })?;
                Self::from_key_file(path, &text)
            }
            Err(e) => Err(EngineError::Internal(format!(
                "cannot create the wallet key file {}: {e}",
                path.display()
            ))),
        }
    }

    fn from_key_file(path: &Path, text: &str) -> Result<Self> {
        Self::from_base64(text).map_err(|_| {
            EngineError::Internal(format!("the wallet key file {} is damaged", path.display()))
        })
    }

    /// Encrypts `secret` for (datasource, name, destination): `v2:` then `nonce|ciphertext`,
    /// base64.
    pub fn seal(
        &self,
        datasource_id: &str,
        name: &str,
        destination: &str,
        secret: &str,
    ) -> Result<String> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ct = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: secret.as_bytes(),
                    aad: &aad_v2(datasource_id, name, destination),
                },
            )
            .map_err(|_| EngineError::Internal("encrypting a secret failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend(ct);
        Ok(format!("{V2}{}", STANDARD.encode(out)))
    }

    /// Opens a secret sealed for (datasource, name, destination). A secret sealed for another
    /// destination does not open (an error naming the secret, never its value).
    pub fn open(
        &self,
        datasource_id: &str,
        name: &str,
        destination: &str,
        sealed: &str,
    ) -> Result<Opened> {
        match sealed.strip_prefix(V2) {
            Some(rest) => self
                .decrypt(name, rest, &aad_v2(datasource_id, name, destination))
                .map(Opened::Bound),
            None => self
                .decrypt(name, sealed, &aad_v1(datasource_id, name))
                .map(Opened::Unbound),
        }
    }

    fn decrypt(&self, name: &str, sealed: &str, aad: &[u8]) -> Result<String> {
        let broken = || {
            EngineError::Internal(format!(
                "the stored secret '{name}' does not open with this wallet key for this \
                 datasource's destination"
            ))
        };
        let bytes = STANDARD.decode(sealed).map_err(|_| broken())?;
        if bytes.len() < 24 {
            return Err(broken());
        }
        let (nonce, ct) = bytes.split_at(24);
        let plain = self
            .cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
            .map_err(|_| broken())?;
        String::from_utf8(plain).map_err(|_| broken())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TO: &str = "endpoint=https://api.example";

    #[test]
    fn seals_opens_and_binds_to_its_row_and_destination() {
        let w = Wallet::from_key(&[7u8; 32]);
        let s = w.seal("ds1", "secret_access_key", TO, "hunter2").unwrap();
        assert!(!s.contains("hunter2"));
        assert_eq!(
            w.open("ds1", "secret_access_key", TO, &s).unwrap(),
            Opened::Bound("hunter2".into())
        );
        assert!(
            w.open("ds2", "secret_access_key", TO, &s).is_err(),
            "bound to the datasource"
        );
        assert!(
            w.open("ds1", "access_key_id", TO, &s).is_err(),
            "bound to the name"
        );
        let e = w
            .open(
                "ds1",
                "secret_access_key",
                "endpoint=https://evil.example",
                &s,
            )
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"), "bound to the destination: {e}");
        assert!(
            Wallet::from_key(&[8u8; 32])
                .open("ds1", "secret_access_key", TO, &s)
                .is_err()
        );
        assert_ne!(
            s,
            w.seal("ds1", "secret_access_key", TO, "hunter2").unwrap(),
            "fresh nonce"
        );
    }

    #[test]
    fn secrets_sealed_before_destinations_open_as_unbound() {
        let w = Wallet::from_key(&[7u8; 32]);
        // What the previous version wrote: no prefix, bound to datasource and name only.
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let ct = w
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: b"old",
                    aad: &aad_v1("ds1", "n"),
                },
            )
            .unwrap();
        let old = STANDARD.encode([nonce.to_vec(), ct].concat());
        assert_eq!(
            w.open("ds1", "n", TO, &old).unwrap(),
            Opened::Unbound("old".into())
        );
        assert!(w.open("ds2", "n", TO, &old).is_err());
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
        let sealed = a.seal("d", "n", TO, "v").unwrap();
        let b = Wallet::load_or_create(&p).unwrap();
        assert_eq!(
            b.open("d", "n", TO, &sealed).unwrap(),
            Opened::Bound("v".into())
        );
        assert!(Wallet::from_base64("short").is_err());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file is left"
        );
    }

    #[test]
    fn processes_starting_together_share_one_key() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("data").join("wallet.key");
            let barrier = std::sync::Barrier::new(8);
            let wallets: Vec<Wallet> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..8)
                    .map(|_| {
                        s.spawn(|| {
                            barrier.wait();
                            Wallet::load_or_create(&p)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap().expect("every start succeeds"))
                    .collect()
            });
            let sealed = wallets[0].seal("d", "n", TO, "v").unwrap();
            for w in &wallets {
                assert_eq!(
                    w.open("d", "n", TO, &sealed).unwrap(),
                    Opened::Bound("v".into()),
                    "one key for all"
                );
            }
            assert_eq!(
                Wallet::load_or_create(&p)
                    .unwrap()
                    .open("d", "n", TO, &sealed)
                    .unwrap(),
                Opened::Bound("v".into()),
                "and it is the one on disk"
            );
        }
    }

    #[test]
    fn a_damaged_key_file_is_refused_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("wallet.key");
        std::fs::write(&p, "not a key").unwrap();
        let e = Wallet::load_or_create(&p).unwrap_err().to_string();
        assert!(e.contains("damaged"), "{e}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "not a key");
    }
}
