//! Building the application: open the engine, create the first admin, assemble the router,
//! bind. Tests use the same builder with port 0.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use app::api::ssr::Ctx;
use app::{App, shell};
use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, Request, State};
use axum::response::IntoResponse;
use axum::routing::get;
use engine::{Engine, EngineConfig};
use leptos::prelude::*;
use leptos_axum::{
    AxumRouteListing, LeptosRoutes, generate_route_list, handle_server_fns_with_context,
};
use tokio::net::TcpListener;

use crate::config::Config;

/// Everything a request handler needs. Extractors and layers clone it several times per
/// request, so it is one shared pointer (a clone is one atomic increment, not one per part).
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

impl std::ops::Deref for AppState {
    type Target = AppStateInner;
    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

pub struct AppStateInner {
    pub engine: Engine,
    pub leptos_options: LeptosOptions,
    /// The first admin's generated password, when this start created it (printed once).
    pub first_admin: Option<Arc<engine::service::FirstAdmin>>,
    pub manager: engine::manager::SpyderManager,
    pub workers: usize,
    /// Extracts text and feeds the search index.
    pub pipeline: engine::process::Pipeline,
    /// Relays live events between the servers of one PostgreSQL database.
    pub relay: Option<engine::events::RelayTasks>,
    /// Where users reach this server (`TRIBUTARY_PUBLIC_URL`).
    pub public_url: app::api::ssr::PublicUrl,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(s: &AppState) -> Self {
        s.leptos_options.clone()
    }
}

impl FromRef<AppState> for Engine {
    fn from_ref(s: &AppState) -> Self {
        s.engine.clone()
    }
}

/// Opens the search index under the data directory, rebuilding it from the database when it
/// is new or outdated, and applying what the outbox still holds.
pub async fn open_search(
    config: &Config,
    engine: &Engine,
) -> Result<Arc<engine::search::SearchIndex>, String> {
    let index = engine::search::SearchIndex::open(&config.data_dir.join("index"))
        .map_err(|e| e.to_string())?;
    let store = engine.store().as_ref();
    if index.is_empty() {
        index.rebuild(store).await.map_err(|e| e.to_string())?;
    } else {
        index.catch_up(store).await.map_err(|e| e.to_string())?;
    }
    Ok(index)
}

/// Opens the database (migrating it) and builds the engine the config describes.
pub async fn open_engine(config: &Config) -> Result<Engine, String> {
    let roots = config.folder_roots()?;
    let url = config.database_url();
    Engine::open(
        &url,
        EngineConfig {
            folder_roots: roots,
            wallet: config.wallet()?,
            db_pool: config.db_pool,
            egress: config.egress()?,
        },
    )
    .await
    .map_err(|e| match e {
        engine::EngineError::Invalid { field, message } => format!("{field} {message}"),
        engine::EngineError::Internal(message) => message,
        other => other.to_string(),
    })
}

fn leptos_options(config: &Config, addr: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(std::env::var("LEPTOS_OUTPUT_NAME").unwrap_or_else(|_| "tributary".into()))
        .site_root(config.site_root.display().to_string())
        .site_pkg_dir(std::env::var("LEPTOS_SITE_PKG_DIR").unwrap_or_else(|_| "pkg".into()))
        .site_addr(addr)
        .build()
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    header_timeout: std::time::Duration,
    pub state: AppState,
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, String> {
        let engine = open_engine(&config).await?;
        let index = open_search(&config, &engine).await?;
        let mut engine = engine.with_search(index.clone());
        if let Some(url) = &config.amqp_url {
            let broker = engine::broker::Broker::connect(url, &config.amqp_queue)
                .await
                .map_err(|e| format!("TRIBUTARY_AMQP_URL: {e}"))?;
            engine = engine.with_broker(broker);
        }
        let relay = engine
            .relay_events()
            .await
            .map_err(|e| format!("cannot listen for the other servers' live events: {e}"))?;
        let first_admin = engine
            .ensure_first_admin(
                config.admin_email.as_deref(),
                config.admin_password.as_deref(),
            )
            .await
            .map_err(|e| format!("cannot create the first admin: {e}"))?;
        let addr = config.listen_addr();
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let bound = listener.local_addr().map_err(|e| e.to_string())?;
        let manager_config = config.manager()?;
        let workers = manager_config.workers;
        let manager = engine::manager::SpyderManager::new(engine.clone(), manager_config);
        let pipeline = engine::process::Pipeline::new(
            engine.clone(),
            manager.blobs().clone(),
            index,
            engine::process::PipelineConfig {
                sandbox: config.sandbox()?,
                time_limit: std::time::Duration::from_secs(config.extract_secs),
                ..Default::default()
            },
        );
        let state = AppState(Arc::new(AppStateInner {
            manager,
            workers,
            pipeline,
            relay,
            engine,
            leptos_options: leptos_options(&config, bound),
            first_admin: first_admin.map(Arc::new),
            public_url: app::api::ssr::PublicUrl(config.public_url()?),
        }));
        let router = router(state.clone());
        Ok(Self {
            listener,
            router,
            header_timeout: std::time::Duration::from_secs(config.header_timeout_secs),
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listener.local_addr().ok()
    }

    /// Serves (and runs the spyder workers) until `shutdown` resolves, finishing in-flight
    /// requests and stopping running syncs at their next checkpoint.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let mut pipeline_stop = stop_rx.clone();
        let workers = (self.state.workers > 0).then(|| {
            self.state.manager.spawn(async move {
                let _ = stop_rx.changed().await;
            })
        });
        let pipeline = (self.state.workers > 0).then(|| {
            self.state.pipeline.spawn(async move {
                let _ = pipeline_stop.changed().await;
            })
        });
        let served = serve(
            self.listener,
            self.router,
            self.header_timeout,
            async move {
                shutdown.await;
                let _ = stop_tx.send(true);
            },
        )
        .await;
        if let Some(w) = workers {
            let _ = w.await;
        }
        if let Some(p) = pipeline {
            let _ = p.await;
        }
        served
    }
}

/// Serves `router` on `listener` until `shutdown`, then lets requests in flight finish (for
/// at most ten seconds: a live-event stream would otherwise hold the exit for minutes).
///
/// A connection must send a whole request head within `header_timeout` (also how long an
/// idle keep-alive connection is kept): a client that opens connections and trickles bytes
/// cannot hold them, which `axum::serve` allows (it sets no timer, so hyper's timeout is
/// off). HTTP/2 connections are pinged and closed when the client stops answering. Each
/// request carries the peer's address (`ConnectInfo`), for the login throttle.
async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: std::time::Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use tower::ServiceExt;
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(std::time::Duration::from_secs(30)))
        .keep_alive_timeout(header_timeout);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors, say: wait a little rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            router.clone().oneshot(req.map(Body::new))
        });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(std::time::Duration::from_secs(10)) => {
            tracing::info!("stopped waiting for open connections (live-event streams) to close");
        }
    }
    Ok(())
}

async fn server_fn_handler(State(state): State<AppState>, req: Request<Body>) -> impl IntoResponse {
    let engine = state.engine.clone();
    handle_server_fns_with_context(
        move || {
            provide_context(Ctx {
                engine: engine.clone(),
            })
        },
        req,
    )
    .await
}

/// The app's page routes, generated once per process.
///
/// Generating them renders the app with resource loading suppressed by a process-wide flag
/// (leptos_server's `SuppressResourceLoad`); a resource first polled on another thread while
/// that flag is up never resolves, and its page never finishes (leptos issue #4773). A server
/// builds its router before it serves, but a process that builds several (the tests do, in
/// parallel) would race; after the first, no router generates them again.
fn page_routes() -> &'static [AxumRouteListing] {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App))
}

/// What every rendered page has in its context: the engine, and the nonce this response's
/// Content-Security-Policy allows for inline scripts.
fn page_context(engine: Engine) -> impl Fn() + Clone + Send + 'static {
    move || {
        provide_context(Ctx {
            engine: engine.clone(),
        });
        if let Some(n) = use_context::<axum::http::request::Parts>()
            .and_then(|p| p.extensions.get::<crate::headers::CspNonce>().cloned())
        {
            provide_context(leptos::nonce::Nonce::from_value(n.0));
        }
    }
}

/// The whole HTTP surface: pages, server functions under `/rpc`, the REST API under `/api`,
/// `/health`, and static files.
pub fn router(state: AppState) -> Router {
    let routes = page_routes().to_vec();
    let engine = state.engine.clone();
    let options = state.leptos_options.clone();
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .nest("/api", crate::api::router())
        .route(
            "/rpc/{*fn_name}",
            get(server_fn_handler).post(server_fn_handler),
        )
        .leptos_routes_with_context(&state, routes, page_context(engine.clone()), move || {
            shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(page_context(state.engine.clone()), shell))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::pages::guard,
        ))
        // Outermost last: headers on every answer, then who is asking, then whether the
        // request may do what it asks from where it comes.
        .layer(axum::middleware::from_fn(crate::csrf::protect))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::resolve_user,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::headers::security,
        ))
        // Every log line of a request is inside its span, which names the request's id (also
        // sent back as `x-request-id`, for people reporting a problem), method and path (never
        // the query, which may carry cursors and filters). Ids are always made here: a
        // client's own `x-request-id` is dropped, so logs say only what the server decided.
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(|req: &Request| {
                let id = req
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path())
            }),
        )
        .layer(tower_http::request_id::PropagateRequestIdLayer::new(
            axum::http::HeaderName::from_static(REQUEST_ID),
        ))
        .layer(tower_http::request_id::SetRequestIdLayer::new(
            axum::http::HeaderName::from_static(REQUEST_ID),
            tower_http::request_id::MakeRequestUuid,
        ))
        .layer(axum::middleware::map_request(
            |mut req: Request| async move {
                req.headers_mut().remove(REQUEST_ID);
                req
            },
        ))
        .with_state(state)
}

/// The header carrying a request's id, on the request (for the logs) and on its answer.
const REQUEST_ID: &str = "x-request-id";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_routes_are_generated_once_per_process() {
        let first = page_routes();
        let again = std::thread::spawn(|| page_routes().as_ptr() as usize)
            .join()
            .unwrap();
        assert_eq!(
            first.as_ptr() as usize,
            again,
            "one list, not a second generation"
        );
        assert!(
            first.iter().any(|r| r.path() == "/datasources"),
            "the list has the app's pages"
        );
    }
}
