//! What the sync benchmarks share: a fresh engine on SQLite, medians, scratch directories.

use std::path::{Path, PathBuf};

use engine::domain::AccountRole;
use engine::manager::{ManagerConfig, SpyderManager};
use engine::{Engine, EngineConfig};

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// A fresh engine (SQLite in `work`) allowed to read folders under `root`, and a user.
pub async fn setup(work: &Path, root: &Path) -> (Engine, SpyderManager, engine::model::User) {
    let url = format!("sqlite://{}/bench.db", work.display());
    let e = Engine::open(
        &url,
        EngineConfig {
            folder_roots: vec![std::fs::canonicalize(root).unwrap()],
            wallet: engine::wallet::Wallet::from_key(&[1u8; 32]),
            db_pool: None,
            egress: engine::egress::Egress::parse("http://127.0.0.1:*").unwrap(),
        },
    )
    .await
    .unwrap();
    let m = SpyderManager::new(e.clone(), ManagerConfig::new(work.join("blobs")));
    let u = e
        .create_user(
            "bench@example.com",
            "",
            "bench-password",
            // Only account admins collect folders on the server's disks.
            AccountRole::Admin,
        )
        .await
        .unwrap();
    (e, m, u)
}

pub fn tmpdir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tributary-bench-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}
