//! `GET /api/@events`: server-sent events for every change to a datasource the caller may see
//! (status, sync progress, resources processed, settings/sharing updates, deletion). Browsers
//! use it to move badges and progress bars live; scripts can `curl -N` it.
//!
//! Each change is checked against the caller's access when it happens, so a datasource shared
//! with them later starts to show, and one they lost stops. A stream ends after
//! [`STREAM_LIFETIME`] and the client reconnects, which authenticates it again (a revoked
//! session stops receiving events within that time).

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use engine::events::{Change, Heard, Listener, What};
use engine::model::{Access, User};
use engine::service::access::Action;
use futures_util::Stream;

use crate::auth::ApiUser;
use crate::startup::AppState;

/// A stream is closed after this long; the browser's EventSource reconnects by itself.
const STREAM_LIFETIME: Duration = Duration::from_secs(300);

/// What a browser waits before reconnecting after a stream ended.
const RETRY: Duration = Duration::from_secs(2);

/// Live streams one user may hold open at once (tabs, windows, scripts): each holds a
/// connection and a listener, so they are not free.
pub const STREAMS_PER_USER: usize = 16;

/// Open streams per user, in this process.
static OPEN: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, usize>>> =
    std::sync::LazyLock::new(Default::default);

/// One of a user's open streams; gives its place back when the stream ends.
struct Slot(String);

impl Slot {
    fn take(user_id: &str) -> Option<Slot> {
        let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(user_id.to_owned()).or_default();
        if *n >= STREAMS_PER_USER {
            return None;
        }
        *n += 1;
        Some(Slot(user_id.to_owned()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.0) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.0);
            }
        }
    }
}

struct Stream_ {
    _slot: Slot,
    listener: Listener,
    engine: engine::Engine,
    user: User,
    deadline: tokio::time::Instant,
    greeted: bool,
}

pub async fn events(
    State(s): State<AppState>,
    ApiUser(user): ApiUser,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, super::error::ApiError> {
    let slot = Slot::take(&user.id).ok_or_else(|| {
        super::error::ApiError(engine::EngineError::TooManyAttempts {
            message: format!(
                "you have {STREAMS_PER_USER} live event streams open already; close one first"
            ),
            retry_after_secs: RETRY.as_secs(),
        })
    })?;
    let state = Stream_ {
        _slot: slot,
        listener: s.engine.events().listen(),
        engine: s.engine.clone(),
        user,
        deadline: tokio::time::Instant::now() + STREAM_LIFETIME,
        greeted: false,
    };
    let stream = futures_util::stream::unfold(state, |mut st| async move {
        if !st.greeted {
            // Tells the client the stream is up (and how soon to come back when it ends).
            st.greeted = true;
            return Some((
                Ok(Event::default().event("ready").data("{}").retry(RETRY)),
                st,
            ));
        }
        loop {
            let heard = tokio::time::timeout_at(st.deadline, st.listener.next())
                .await
                .ok()??;
            let event = match heard {
                Heard::Missed(n) => Some(
                    Event::default()
                        .event("missed")
                        .data(format!("{{\"missed\":{n}}}")),
                ),
                Heard::Change(c) => visible(&st.engine, &st.user, &c).await.then(|| encode(&c)),
            };
            if let Some(e) = event {
                return Some((Ok(e), st));
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Whether `user` may see what `c` is about, now. Someone only invited sees that the
/// datasource changed or went, never its status or progress.
async fn visible(engine: &engine::Engine, user: &User, c: &Change) -> bool {
    let named = |audience: &[String]| audience.iter().any(|a| *a == user.id || *a == user.email);
    match &c.what {
        What::Deleted { audience } => return named(audience),
        What::Withdrawn { audience } if named(audience) => return true,
        _ => {}
    }
    match engine
        .datasource_for(user, &c.datasource_id, Action::See)
        .await
    {
        Ok(v) => {
            matches!(v.access, Access::Member(_))
                || matches!(c.what, What::Updated | What::Withdrawn { .. })
        }
        Err(_) => false,
    }
}

fn encode(c: &Change) -> Event {
    let name = match c.what {
        What::Status { .. } => "status",
        What::Progress(_) => "progress",
        What::Processed => "processed",
        What::Updated | What::Withdrawn { .. } => "updated",
        What::Deleted { .. } => "deleted",
    };
    Event::default()
        .event(name)
        .data(serde_json::to_string(c).unwrap_or_else(|_| "{}".into()))
}
