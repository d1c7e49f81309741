//! Typed settings from flags and the environment. Every setting has a flag and a variable;
//! flags win.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "tributary",
    version,
    about = "Tributary: a datasource admin app"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Serve the app (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Rebuild the search index from the database (while the server is stopped).
    Reindex,
    /// Add N made-up resources to a datasource, as a spyder would add collected ones (for demos
    /// and load tests: `@getAllChildren` over a million children).
    SeedChildren {
        /// The datasource's id.
        datasource: String,
        /// How many resources to add.
        #[arg(long, default_value_t = 10)]
        count: usize,
    },
}

#[derive(Debug, Clone, Subcommand)]
pub enum UserCommand {
    /// Add a user. The password is read from TRIBUTARY_NEW_PASSWORD or, if unset, standard input.
    Add {
        email: String,
        #[arg(long, default_value = "member")]
        role: String,
        #[arg(long, default_value = "")]
        name: String,
    },
    /// Set a new password (from TRIBUTARY_NEW_PASSWORD or standard input) and end every session.
    ResetPassword { email: String },
}

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Where Tributary keeps its files (the SQLite database, blobs, folder roots).
    #[arg(long, env = "TRIBUTARY_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// `sqlite://path` or `postgres://user@host/db`. Default: SQLite at <data dir>/tributary.db.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: Option<String>,

    /// Most PostgreSQL connections open at once. Default: twice the cores, at least 4.
    #[arg(long, env = "TRIBUTARY_DB_POOL", value_parser = clap::value_parser!(u32).range(1..))]
    pub db_pool: Option<u32>,

    /// Address to listen on.
    #[arg(long, env = "TRIBUTARY_LISTEN")]
    pub listen: Option<SocketAddr>,

    /// Directories Folder datasources may point into, `:`-separated. Default: <data dir>/folders.
    #[arg(long, env = "TRIBUTARY_FOLDER_ROOTS")]
    pub folder_roots: Option<String>,

    /// Servers besides each service's public API hosts that connectors may reach, for
    /// datasources' `endpoint` settings: `scheme://host[:port]` (`:*` for any port), separated
    /// by commas. An endpoint listed here may be on a private or loopback address; nothing
    /// else may. Default: none.
    #[arg(long, env = "TRIBUTARY_CONNECTOR_ENDPOINTS")]
    pub connector_endpoints: Option<String>,

    /// Where users reach Tributary (`https://tributary.example.org`): absolute `@id`s are
    /// made from it, and with https cookies are `Secure` and browsers are told to keep to
    /// HTTPS. Default: this request's `Host`, over http.
    #[arg(long, env = "TRIBUTARY_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Where the built site (wasm, js, css, assets) is. cargo-leptos sets LEPTOS_SITE_ROOT.
    #[arg(long, env = "LEPTOS_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    /// E-mail of the admin created on first start.
    #[arg(long, env = "TRIBUTARY_ADMIN_EMAIL")]
    pub admin_email: Option<String>,

    /// Password of the admin created on first start; generated and printed once when absent.
    #[arg(long, env = "TRIBUTARY_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// Spyders running at once (0: none; jobs wait in the queue).
    #[arg(long, env = "TRIBUTARY_WORKERS", default_value_t = 2)]
    pub workers: usize,

    /// Minutes after a finished run that `auto` and `arch` datasources are due again: a random
    /// time in `MIN-MAX`.
    #[arg(long, env = "TRIBUTARY_SCHEDULE_MINUTES", default_value = "20-30")]
    pub schedule_minutes: String,

    /// The wallet key (base64 of 32 bytes) that encrypts connector credentials. Default: a key
    /// file `<data dir>/wallet.key`, created with mode 0600 on first start.
    #[arg(long, env = "TRIBUTARY_WALLET_KEY", hide_env_values = true)]
    pub wallet_key: Option<String>,

    /// RabbitMQ to announce spyder jobs on (`amqp://user:password@host:5672/%2f`), as the
    /// seed's `@sendToSpyder` does: every worker consuming the queue wakes at once for a job
    /// that is due now. Without it the workers poll the database every half second.
    #[arg(long, env = "TRIBUTARY_AMQP_URL", hide_env_values = true)]
    pub amqp_url: Option<String>,

    /// The durable RabbitMQ queue of the job announcements.
    #[arg(
        long,
        env = "TRIBUTARY_AMQP_QUEUE",
        default_value = "tributary.spyder-jobs"
    )]
    pub amqp_queue: String,

    /// The most megabytes read of one file of a Folder datasource; larger files are not
    /// collected (the run's note names them).
    #[arg(long, env = "TRIBUTARY_MAX_FILE_MB", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_file_mb: u64,

    /// The program that extracts files in child processes (this binary's `extract-one`):
    /// default this very binary; `in-process` extracts in the server process instead (only
    /// for tests: one hostile file can then take the server down).
    #[arg(long, env = "TRIBUTARY_EXTRACTOR", hide = true)]
    pub extractor: Option<PathBuf>,

    /// Seconds one file's extraction may take before it is stopped and the file fails as
    /// "timed out" (also its CPU-time limit).
    #[arg(long, env = "TRIBUTARY_EXTRACT_SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub extract_secs: u64,

    /// Seconds a connection has to send a whole request head, and an idle keep-alive
    /// connection is kept open.
    #[arg(long, env = "TRIBUTARY_HEADER_TIMEOUT_SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_secs: u64,

    /// Items per committed sync batch (each commit is a checkpoint).
    #[arg(long, env = "TRIBUTARY_SYNC_BATCH", default_value_t = 500, hide = true)]
    pub sync_batch: usize,

    /// Seconds a worker holds a job between checkpoints before another may take it over.
    #[arg(
        long,
        env = "TRIBUTARY_JOB_LEASE_SECS",
        default_value_t = 60,
        hide = true
    )]
    pub job_lease_secs: u64,
}

impl Config {
    /// The listen address: the flag, else cargo-leptos's LEPTOS_SITE_ADDR, else 127.0.0.1:3000.
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
            .or_else(|| {
                std::env::var("LEPTOS_SITE_ADDR")
                    .ok()
                    .and_then(|a| a.parse().ok())
            })
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3000)))
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("tributary.db").display()))
    }

    /// The allowed folder roots, created if they are the default and canonicalised.
    pub fn folder_roots(&self) -> Result<Vec<PathBuf>, String> {
        let raw: Vec<PathBuf> = match &self.folder_roots {
            Some(s) => s
                .split(':')
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .collect(),
            None => {
                let d = self.data_dir.join("folders");
                std::fs::create_dir_all(&d)
                    .map_err(|e| format!("cannot create {}: {e}", d.display()))?;
                vec![d]
            }
        };
        raw.iter()
            .map(|p| {
                canonical(p).map_err(|e| format!("TRIBUTARY_FOLDER_ROOTS: {}: {e}", p.display()))
            })
            .collect()
    }
}

fn canonical(p: &Path) -> std::io::Result<PathBuf> {
    std::fs::canonicalize(p)
}

impl Config {
    /// The public URL, checked: `http(s)://host[:port]`, no path, no trailing slash.
    pub fn public_url(&self) -> Result<Option<String>, String> {
        let Some(raw) = self.public_url.as_deref().filter(|u| !u.trim().is_empty()) else {
            return Ok(None);
        };
        let bad = || {
            format!("TRIBUTARY_PUBLIC_URL must be http(s)://host[:port] with no path, got '{raw}'")
        };
        let rest = raw
            .strip_prefix("https://")
            .or_else(|| raw.strip_prefix("http://"))
            .ok_or_else(bad)?;
        let host = rest.trim_end_matches('/');
        if host.is_empty()
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        {
            return Err(bad());
        }
        Ok(Some(raw.trim_end_matches('/').to_owned()))
    }

    /// Where files are extracted: child processes of this binary (or of `--extractor`).
    pub fn sandbox(&self) -> Result<Option<engine::process::sandbox::Sandbox>, String> {
        let exe = match &self.extractor {
            Some(p) if p.as_os_str() == "in-process" => return Ok(None),
            Some(p) => p.clone(),
            None => std::env::current_exe()
                .map_err(|e| format!("cannot find this program to extract files with: {e}"))?,
        };
        Ok(Some(engine::process::sandbox::Sandbox {
            exe,
            limits: engine::process::sandbox::Limits {
                cpu_secs: self.extract_secs,
                wall: std::time::Duration::from_secs(self.extract_secs),
                ..Default::default()
            },
        }))
    }

    /// The connectors' fence: each service's public hosts, and the endpoints listed.
    pub fn egress(&self) -> Result<engine::egress::Egress, String> {
        engine::egress::Egress::parse(self.connector_endpoints.as_deref().unwrap_or(""))
    }

    /// The wallet: from `TRIBUTARY_WALLET_KEY`, else the key file in the data directory.
    pub fn wallet(&self) -> Result<engine::wallet::Wallet, String> {
        match &self.wallet_key {
            Some(k) => engine::wallet::Wallet::from_base64(k).map_err(|e| e.to_string()),
            None => engine::wallet::Wallet::load_or_create(&self.data_dir.join("wallet.key"))
                .map_err(|e| e.to_string()),
        }
    }

    /// The spyder manager's settings.
    pub fn manager(&self) -> Result<engine::manager::ManagerConfig, String> {
        let bad = || {
            format!(
                "TRIBUTARY_SCHEDULE_MINUTES must be MIN-MAX in minutes (like 20-30), got '{}'",
                self.schedule_minutes
            )
        };
        let (lo, hi) = self.schedule_minutes.split_once('-').ok_or_else(bad)?;
        let lo: f64 = lo.trim().parse().map_err(|_| bad())?;
        let hi: f64 = hi.trim().parse().map_err(|_| bad())?;
        if !(lo > 0.0 && hi >= lo) {
            return Err(bad());
        }
        let mut m = engine::manager::ManagerConfig::new(self.data_dir.join("blobs"));
        m.workers = self.workers;
        m.batch = self.sync_batch.max(1);
        m.max_file_bytes = self.max_file_mb.saturating_mul(1 << 20);
        m.lease = std::time::Duration::from_secs(self.job_lease_secs.max(1));
        m.schedule_min = std::time::Duration::from_secs_f64(lo * 60.0);
        m.schedule_max = std::time::Duration::from_secs_f64(hi * 60.0);
        if self.amqp_url.is_some() {
            // Jobs due now are announced; the poll only finds scheduled runs and retries.
            m.idle_poll = std::time::Duration::from_secs(5);
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_pool_is_a_positive_number() {
        let cli = Cli::try_parse_from(["tributary", "--db-pool", "3"]).unwrap();
        assert_eq!(cli.config.db_pool, Some(3));
        assert_eq!(
            Cli::try_parse_from(["tributary"]).unwrap().config.db_pool,
            None
        );
        for bad in ["0", "-1", "many"] {
            let flag = format!("--db-pool={bad}");
            let e = Cli::try_parse_from(["tributary", flag.as_str()]).unwrap_err();
            assert!(e.to_string().contains("--db-pool"), "{bad}: {e}");
        }
    }
}
