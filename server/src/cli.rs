//! Command-line entry: parse settings, set up logging, run the chosen command. Failures are one
//! line on stderr and a non-zero exit, never a panic trace.

use std::process::ExitCode;

use clap::Parser;

use crate::config::{Cli, Command, Config, UserCommand};
use engine::Engine;
use engine::events::RelayTasks;

use crate::startup::{Application, open_engine};

pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Migrate => open_engine(&cli.config).await.map(|e| {
            println!("migrations applied ({})", e.store().backend());
        }),
        Command::SeedChildren { datasource, count } => {
            seed_children(&cli.config, &datasource, count).await
        }
        Command::User(cmd) => user_command(&cli.config, cmd).await,
        Command::Reindex => reindex(&cli.config).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,sqlx=warn,tower_http=warn,tantivy=warn,object_store=warn")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

async fn serve(config: Config) -> Result<(), String> {
    let app = Application::build(config).await?;
    if let Some(first) = &app.state.first_admin {
        match &first.generated_password {
            Some(pw) => println!(
                "\nCreated the first admin account (shown only this once):\n  e-mail:   {}\n  password: {pw}\n",
                first.email
            ),
            None => println!("\nCreated the first admin account: {}\n", first.email),
        }
    }
    let addr = app.local_addr().map(|a| a.to_string()).unwrap_or_default();
    tracing::info!(
        backend = app.state.engine.store().backend(),
        "listening on http://{addr}"
    );
    app.run_until(shutdown_signal())
        .await
        .map_err(|e| format!("server failed: {e}"))?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Rebuilds the search index from the database (run it while the server is stopped: the
/// index allows one writer).
async fn reindex(config: &Config) -> Result<(), String> {
    let engine = open_engine(config).await?;
    let index = engine::search::SearchIndex::open(&config.data_dir.join("index"))
        .map_err(|e| e.to_string())?;
    let n = index
        .rebuild(engine.store().as_ref())
        .await
        .map_err(|e| e.to_string())?;
    let segments = index.segments().map_err(|e| e.to_string())?;
    println!("search index rebuilt: {n} documents in {segments} segments; merging them…");
    index.close().map_err(|e| e.to_string())?;
    let merged = engine::search::SearchIndex::open(&config.data_dir.join("index"))
        .and_then(|i| i.segments())
        .map_err(|e| e.to_string())?;
    println!("search index merged into {merged} segments");
    Ok(())
}

/// Opens the engine with its live events relayed (on PostgreSQL), so the running servers hear
/// at once what a command changes; [`told_the_servers`] waits for them to be told.
async fn open_relaying(config: &Config) -> Result<(Engine, Option<RelayTasks>), String> {
    let engine = open_engine(config).await?;
    let relay = engine
        .relay_events()
        .await
        .map_err(|e| format!("cannot reach the other servers' live events: {e}"))?;
    Ok((engine, relay))
}

/// Waits until what the command changed was sent to the running servers; if it could not be,
/// says what that means (`later`) instead of failing: the change itself is done.
async fn told_the_servers(engine: &Engine, later: &str) {
    if let Err(e) = engine.events().flush().await {
        eprintln!("warning: the running servers could not be told ({e}); {later}");
    }
}

async fn seed_children(config: &Config, datasource: &str, count: usize) -> Result<(), String> {
    let (engine, _relay) = open_relaying(config).await?;
    let existing = engine
        .store()
        .count_children(datasource)
        .await
        .map_err(|e| e.to_string())?;
    let resources: Vec<_> = (0..count)
        .map(|i| engine::service::sample_resource(datasource, existing as usize + i))
        .collect();
    for chunk in resources.chunks(1000) {
        engine
            .add_resources(datasource, chunk)
            .await
            .map_err(|e| e.to_string())?;
    }
    told_the_servers(
        &engine,
        "open pages show the new resources when reloaded, counts within 2 s",
    )
    .await;
    println!("added {count} resources to {datasource}");
    Ok(())
}

/// The new password: `TRIBUTARY_NEW_PASSWORD`, else the first line of standard input. Never a
/// flag, so it does not end up in shell history or `ps`.
fn read_new_password() -> Result<String, String> {
    if let Ok(p) = std::env::var("TRIBUTARY_NEW_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

async fn user_command(config: &Config, cmd: UserCommand) -> Result<(), String> {
    let (engine, _relay) = open_relaying(config).await?;
    match cmd {
        UserCommand::Add { email, role, name } => {
            let role = role
                .parse()
                .map_err(|e: engine::EngineError| e.to_string())?;
            let password = read_new_password()?;
            let u = engine
                .create_user(&email, &name, &password, role)
                .await
                .map_err(|e| e.to_string())?;
            println!("added {} ({}) with id {}", u.email, u.role, u.id);
        }
        UserCommand::ResetPassword { email } => {
            let password = read_new_password()?;
            let u = engine
                .reset_password(&email, &password)
                .await
                .map_err(|e| e.to_string())?;
            told_the_servers(
                &engine,
                "they accept the ended sessions for at most 5 more seconds",
            )
            .await;
            println!(
                "password of {} reset; their sessions and tokens were ended",
                u.email
            );
        }
    }
    Ok(())
}
