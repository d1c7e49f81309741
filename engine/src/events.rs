//! Live changes: every status change, every committed sync batch and every processed batch is
//! announced here, so the web layer can push it to browsers (server-sent events) instead of
//! having them poll.
//!
//! The channel is in-process and lossy by design: a slow listener that falls behind is told so
//! ([`Listener::next`] answers [`Heard::Missed`]) and should refetch what it shows. The database
//! stays the truth; an event only says "look again".
//!
//! Several servers on one PostgreSQL database hear each other's changes through a [`Relay`]
//! (PostgreSQL's `LISTEN`/`NOTIFY`, see [`Events::start_relay`]): what one server publishes is
//! also sent to the others, which pass it to their own listeners. What the relay cannot carry
//! (a lost connection, a change too large for a notification, a backlog it had to drop) reaches
//! the other servers' listeners as [`Heard::Missed`], so they refetch instead of missing it.
//! The relay also carries ended sign-ins ([`SignedOut`]), so no server keeps trusting a session
//! from memory after it was ended on another, or by the command line.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::domain::SyncStatus;
use crate::error::{EngineError, Result};

/// Events kept for listeners that are a little behind.
const BACKLOG: usize = 1024;

/// What changed about one datasource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub datasource_id: String,
    #[serde(flatten)]
    pub what: What,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum What {
    /// The datasource moved to a new status.
    Status {
        sync_status: SyncStatus,
        status_reason: Option<String>,
    },
    /// A running sync committed a batch.
    Progress(Progress),
    /// The processing pipeline finished some of its resources (processed or failed): their
    /// status, type and extracted text changed.
    Processed,
    /// Its settings, sharing or resources changed otherwise.
    Updated,
    /// Sharing changed so that some lost sight of it (an invitation revoked or declined, a
    /// member removed): like `Updated` on the wire, and also told to them, whom access can no
    /// longer name (members' user ids, invitees' e-mails; never sent on the wire).
    #[serde(rename = "updated")]
    Withdrawn {
        #[serde(skip)]
        audience: Vec<String>,
    },
    /// It was deleted. Access can no longer be looked up, so the event names who could see
    /// it: members' user ids and invitees' e-mails (never sent on the wire).
    Deleted {
        #[serde(skip)]
        audience: Vec<String>,
    },
}

/// How far a sync has come, from its last committed checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Progress {
    /// Source items looked at so far.
    pub seen: i64,
    pub added: i64,
    pub updated: i64,
    /// The listing is complete (only deletions are left).
    pub listed: bool,
    /// Items the datasource held when the run started: an estimate of `seen` at the end, or
    /// `None` on a first sync, when nothing is known yet.
    pub expected: Option<i64>,
}

/// A sign-in that ended on one server: what the others must stop trusting from memory.
#[derive(Debug, Clone, PartialEq)]
pub enum SignedOut {
    /// Every session and token of this user id (deactivated, a new password).
    User(String),
    /// One token, by its hash (logged out, a personal token revoked).
    Token(String),
}

/// What the relay brings from another server, for the engine to act on before this server's
/// listeners hear it.
#[derive(Debug, Clone, PartialEq)]
pub enum Remote {
    Change(Change),
    SignedOut(SignedOut),
    /// Something may have been lost on the way: forget whatever is kept in memory.
    Missed,
}

/// What waits to be sent to the other servers.
#[derive(Debug)]
enum Outgoing {
    Change(Change),
    SignedOut(SignedOut),
    /// Answered once everything queued before it was sent: `true`, or `false` if some of it
    /// could not be.
    Flush(oneshot::Sender<bool>),
}

/// What goes through the in-process channel.
#[derive(Debug, Clone)]
enum Signal {
    Change(Change),
    /// Changes were lost on the way from another server.
    Missed(u64),
}

/// The sending side, held by the engine.
#[derive(Debug, Clone)]
pub struct Events {
    tx: broadcast::Sender<Signal>,
    /// Set once [`Events::start_relay`] runs: changes to send to the other servers.
    outbox: Arc<OnceLock<mpsc::Sender<Outgoing>>>,
    /// The outbox was full and a change was dropped: the other servers must refetch.
    overflowed: Arc<AtomicBool>,
    /// Tells this server's notifications from the others' (a random id per engine).
    origin: Arc<str>,
}

impl Default for Events {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(BACKLOG).0,
            outbox: Arc::default(),
            overflowed: Arc::default(),
            origin: uuid::Uuid::new_v4().simple().to_string().into(),
        }
    }
}

impl Events {
    /// Announces a change (to the other servers too, when relaying); nobody listening is fine.
    pub fn publish(&self, datasource_id: &str, what: What) {
        let change = Change {
            datasource_id: datasource_id.to_owned(),
            what,
        };
        self.relay(|| Outgoing::Change(change.clone()));
        let _ = self.tx.send(Signal::Change(change));
    }

    /// Tells the other servers (when relaying) that a sign-in ended. This server's listeners
    /// do not hear it: the engine has forgotten it here already.
    pub fn signed_out(&self, who: SignedOut) {
        self.relay(|| Outgoing::SignedOut(who));
    }

    /// Queues `out` for the other servers when relaying; a full queue drops it and tells them
    /// they missed something.
    fn relay(&self, out: impl FnOnce() -> Outgoing) {
        if let Some(outbox) = self.outbox.get()
            && outbox.try_send(out()).is_err()
        {
            self.overflowed.store(true, Ordering::SeqCst);
        }
    }

    /// Waits until everything published so far has been sent to the other servers (at once
    /// when not relaying): for a short-lived process, such as a command-line tool, before it
    /// exits. An error says some of it could not be sent.
    pub async fn flush(&self) -> Result<()> {
        let Some(outbox) = self.outbox.get() else {
            return Ok(());
        };
        let unsent =
            || EngineError::Internal("live events could not be sent to the other servers".into());
        let (tx, rx) = oneshot::channel();
        outbox
            .send(Outgoing::Flush(tx))
            .await
            .map_err(|_| unsent())?;
        match rx.await {
            Ok(true) => Ok(()),
            _ => Err(unsent()),
        }
    }

    pub fn listen(&self) -> Listener {
        Listener {
            rx: self.tx.subscribe(),
        }
    }

    /// Passes a change or a loss heard from another server to this server's listeners.
    fn deliver(&self, signal: Signal) {
        let _ = self.tx.send(signal);
    }

    /// Starts relaying through `relay`: from now on every change published here is also sent
    /// to the other servers, and theirs are published here. `on_remote` runs for everything
    /// another server sends, before this server's listeners hear it (the engine drops cached
    /// rows and sign-ins with it), and with [`Remote::Missed`] when something may have been
    /// lost.
    ///
    /// Returns once this server listens, so nothing published afterwards by another server
    /// is missed. Starting a second time is refused.
    pub async fn start_relay(
        &self,
        relay: Arc<dyn Relay>,
        on_remote: impl Fn(&Remote) + Send + Sync + 'static,
    ) -> Result<RelayTasks> {
        let relayed_already = || EngineError::Conflict("live events are relayed already".into());
        if self.outbox.get().is_some() {
            return Err(relayed_already());
        }
        let subscription = relay.subscribe().await?;
        let (tx, rx) = mpsc::channel(RELAY_OUTBOX);
        self.outbox.set(tx).map_err(|_| relayed_already())?;
        let sender = tokio::spawn(send_loop(
            self.origin.clone(),
            self.overflowed.clone(),
            relay.clone(),
            rx,
        ));
        let receiver = tokio::spawn(receive_loop(
            self.clone(),
            relay,
            subscription,
            Box::new(on_remote),
        ));
        Ok(RelayTasks { sender, receiver })
    }
}

/// What the engine does with what another server sent.
type OnRemote = dyn Fn(&Remote) + Send + Sync;

/// Changes waiting to be sent to the other servers; more are dropped (and the others told).
const RELAY_OUTBOX: usize = 4096;
/// Changes sent to the other servers in one round trip at most.
const RELAY_BATCH: usize = 256;
/// PostgreSQL refuses notifications of 8,000 bytes or more.
pub const MAX_PAYLOAD: usize = 7999;
/// How long to wait before listening again after the connection was lost.
const RELAY_RETRY: Duration = Duration::from_millis(500);

/// A way to reach the other servers: PostgreSQL's `NOTIFY` (see `store::postgres`).
#[async_trait]
pub trait Relay: Send + Sync {
    /// Sends `payloads` to every server listening, in order.
    async fn send(&self, payloads: &[String]) -> Result<()>;
    /// Starts listening.
    async fn subscribe(&self) -> Result<Box<dyn Subscription>>;
}

#[async_trait]
pub trait Subscription: Send {
    /// The next payload sent by any server (this one's too); `None` when the connection was
    /// lost (and with it maybe some payloads): subscribe again.
    async fn next(&mut self) -> Result<Option<String>>;
}

/// The relay's two tasks: relaying stops when this is dropped.
pub struct RelayTasks {
    sender: JoinHandle<()>,
    receiver: JoinHandle<()>,
}

impl Drop for RelayTasks {
    fn drop(&mut self) {
        self.sender.abort();
        self.receiver.abort();
    }
}

/// A change as it travels between servers: unlike the browsers' form, with whom it concerns.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
enum Wire {
    Change {
        from: String,
        id: String,
        /// Keeps two equal changes sent in one round trip apart (PostgreSQL folds notifications
        /// with equal payloads within a transaction).
        n: u64,
        what: WireWhat,
    },
    /// Changes were dropped on the way: refetch.
    Missed { from: String },
    /// A sign-in ended: a user's (`user`, an id) or one token's (`token`, its hash).
    SignedOut {
        from: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "e", rename_all = "snake_case")]
enum WireWhat {
    Status {
        status: SyncStatus,
        reason: Option<String>,
    },
    Progress {
        seen: i64,
        added: i64,
        updated: i64,
        listed: bool,
        expected: Option<i64>,
    },
    Processed,
    Updated,
    Withdrawn {
        audience: Vec<String>,
    },
    Deleted {
        audience: Vec<String>,
    },
}

impl From<What> for WireWhat {
    fn from(w: What) -> Self {
        match w {
            What::Status {
                sync_status,
                status_reason,
            } => Self::Status {
                status: sync_status,
                reason: status_reason,
            },
            What::Progress(p) => Self::Progress {
                seen: p.seen,
                added: p.added,
                updated: p.updated,
                listed: p.listed,
                expected: p.expected,
            },
            What::Processed => Self::Processed,
            What::Updated => Self::Updated,
            What::Withdrawn { audience } => Self::Withdrawn { audience },
            What::Deleted { audience } => Self::Deleted { audience },
        }
    }
}

impl From<WireWhat> for What {
    fn from(w: WireWhat) -> Self {
        match w {
            WireWhat::Status { status, reason } => Self::Status {
                sync_status: status,
                status_reason: reason,
            },
            WireWhat::Progress {
                seen,
                added,
                updated,
                listed,
                expected,
            } => Self::Progress(Progress {
                seen,
                added,
                updated,
                listed,
                expected,
            }),
            WireWhat::Processed => Self::Processed,
            WireWhat::Updated => Self::Updated,
            WireWhat::Withdrawn { audience } => Self::Withdrawn { audience },
            WireWhat::Deleted { audience } => Self::Deleted { audience },
        }
    }
}

/// The payload telling the other servers to refetch.
fn encode_missed(origin: &str) -> String {
    serde_json::to_string(&Wire::Missed {
        from: origin.to_owned(),
    })
    .unwrap_or_default()
}

/// The payload for `change`, or for "missed" when it is too large to be a notification.
fn encode(origin: &str, n: u64, change: Change) -> String {
    let wire = Wire::Change {
        from: origin.to_owned(),
        id: change.datasource_id,
        n,
        what: change.what.into(),
    };
    match serde_json::to_string(&wire) {
        Ok(p) if p.len() <= MAX_PAYLOAD => p,
        _ => encode_missed(origin),
    }
}

/// The payload telling the other servers that a sign-in ended.
fn encode_signed_out(origin: &str, who: SignedOut) -> String {
    let (user, token) = match who {
        SignedOut::User(id) => (Some(id), None),
        SignedOut::Token(hash) => (None, Some(hash)),
    };
    serde_json::to_string(&Wire::SignedOut {
        from: origin.to_owned(),
        user,
        token,
    })
    .unwrap_or_default()
}

/// What a payload from another server means here; `None` for this server's own and for what
/// cannot be read.
fn decode(origin: &str, payload: &str) -> Option<Remote> {
    match serde_json::from_str::<Wire>(payload) {
        Ok(Wire::Change { from, .. } | Wire::Missed { from } | Wire::SignedOut { from, .. })
            if from == origin =>
        {
            None
        }
        Ok(Wire::Change { id, what, .. }) => Some(Remote::Change(Change {
            datasource_id: id,
            what: what.into(),
        })),
        Ok(Wire::Missed { .. }) => Some(Remote::Missed),
        Ok(Wire::SignedOut { user, token, .. }) => match (user, token) {
            (Some(id), _) => Some(Remote::SignedOut(SignedOut::User(id))),
            (None, Some(hash)) => Some(Remote::SignedOut(SignedOut::Token(hash))),
            (None, None) => {
                tracing::warn!("a relayed sign-out names nobody");
                None
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "a relayed live event could not be read");
            None
        }
    }
}

/// Sends what is published here, a batch per round trip. A batch that cannot be sent (the
/// database unreachable) is dropped, and the other servers are told to refetch once sending
/// works again.
async fn send_loop(
    origin: Arc<str>,
    overflowed: Arc<AtomicBool>,
    relay: Arc<dyn Relay>,
    mut rx: mpsc::Receiver<Outgoing>,
) {
    let mut n = 0u64;
    let mut lost = false;
    let mut batch = Vec::with_capacity(RELAY_BATCH);
    while rx.recv_many(&mut batch, RELAY_BATCH).await > 0 {
        let mut payloads = Vec::with_capacity(batch.len() + 1);
        let mut flushes = Vec::new();
        if lost || overflowed.swap(false, Ordering::SeqCst) {
            payloads.push(encode_missed(&origin));
        }
        for out in batch.drain(..) {
            match out {
                Outgoing::Change(change) => {
                    n += 1;
                    payloads.push(encode(&origin, n, change));
                }
                Outgoing::SignedOut(who) => payloads.push(encode_signed_out(&origin, who)),
                Outgoing::Flush(done) => flushes.push(done),
            }
        }
        if !payloads.is_empty() {
            lost = match relay.send(&payloads).await {
                Ok(()) => false,
                Err(e) => {
                    tracing::warn!(error = %e, "live events could not be sent to the other servers");
                    true
                }
            };
        }
        for done in flushes {
            let _ = done.send(!lost);
        }
    }
}

/// Publishes here what the other servers send; after a lost connection, listens again and
/// tells this server's listeners they may have missed something.
async fn receive_loop(
    events: Events,
    relay: Arc<dyn Relay>,
    mut subscription: Box<dyn Subscription>,
    on_remote: Box<OnRemote>,
) {
    loop {
        match subscription.next().await {
            Ok(Some(payload)) => {
                let Some(remote) = decode(&events.origin, &payload) else {
                    continue;
                };
                on_remote(&remote);
                match remote {
                    Remote::Change(c) => {
                        events.deliver(Signal::Change(c));
                        // A batch from another server arrives at once; letting the listeners
                        // run between its changes keeps them from falling behind the backlog
                        // (and having to refetch everything) when it is large.
                        tokio::task::yield_now().await;
                    }
                    Remote::SignedOut(_) => {}
                    Remote::Missed => events.deliver(Signal::Missed(1)),
                }
            }
            Ok(None) | Err(_) => {
                subscription = loop {
                    match relay.subscribe().await {
                        Ok(s) => break s,
                        Err(e) => {
                            tracing::warn!(error = %e, "cannot listen for the other servers' live events; trying again");
                            tokio::time::sleep(RELAY_RETRY).await;
                        }
                    }
                };
                on_remote(&Remote::Missed);
                events.deliver(Signal::Missed(1));
            }
        }
    }
}

/// What a listener heard.
#[derive(Debug, Clone, PartialEq)]
pub enum Heard {
    Change(Change),
    /// This many changes were dropped because the listener was slow, or lost on the way from
    /// another server: refetch everything.
    Missed(u64),
}

pub struct Listener {
    rx: broadcast::Receiver<Signal>,
}

impl Listener {
    /// The next change; `None` once the engine is gone.
    pub async fn next(&mut self) -> Option<Heard> {
        match self.rx.recv().await {
            Ok(Signal::Change(c)) => Some(Heard::Change(c)),
            Ok(Signal::Missed(n)) => Some(Heard::Missed(n)),
            Err(broadcast::error::RecvError::Lagged(n)) => Some(Heard::Missed(n)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_listener_hears_changes_in_order_and_is_told_when_it_fell_behind() {
        let events = Events::default();
        let mut l = events.listen();
        events.publish("a", What::Updated);
        events.publish("b", What::Deleted { audience: vec![] });
        assert_eq!(
            l.next().await,
            Some(Heard::Change(Change {
                datasource_id: "a".into(),
                what: What::Updated
            }))
        );
        assert_eq!(
            l.next().await,
            Some(Heard::Change(Change {
                datasource_id: "b".into(),
                what: What::Deleted { audience: vec![] }
            }))
        );
        for _ in 0..BACKLOG + 5 {
            events.publish("c", What::Updated);
        }
        assert_eq!(l.next().await, Some(Heard::Missed(5)));
    }

    #[test]
    fn every_change_crosses_to_another_server_whole_and_comes_back_to_nobody() {
        let changes = [
            What::Status {
                sync_status: SyncStatus::Failed,
                status_reason: Some("bucket gone".into()),
            },
            What::Progress(Progress {
                seen: 7,
                added: 5,
                updated: 1,
                listed: true,
                expected: Some(9),
            }),
            What::Processed,
            What::Updated,
            What::Withdrawn {
                audience: vec!["ann@example.com".into()],
            },
            What::Deleted {
                audience: vec!["u1".into(), "u2".into()],
            },
        ];
        for (n, what) in changes.into_iter().enumerate() {
            let change = Change {
                datasource_id: format!("ds{n}"),
                what,
            };
            let payload = encode("here", n as u64, change.clone());
            assert!(
                matches!(decode("there", &payload), Some(Remote::Change(c)) if c == change),
                "{payload}"
            );
            assert!(decode("here", &payload).is_none(), "its own are skipped");
        }
        let huge = Change {
            datasource_id: "x".into(),
            what: What::Deleted {
                audience: vec!["someone@example.com".into(); MAX_PAYLOAD / 10],
            },
        };
        let payload = encode("here", 1, huge);
        assert!(payload.len() <= MAX_PAYLOAD);
        assert_eq!(decode("there", &payload), Some(Remote::Missed));
        assert!(decode("there", "not json").is_none());
    }

    #[test]
    fn an_ended_sign_in_crosses_to_another_server_and_comes_back_to_nobody() {
        for who in [
            SignedOut::User("u1".into()),
            SignedOut::Token("9f86d081884c7d65".into()),
        ] {
            let payload = encode_signed_out("here", who.clone());
            assert_eq!(
                decode("there", &payload),
                Some(Remote::SignedOut(who)),
                "{payload}"
            );
            assert!(decode("here", &payload).is_none(), "its own are skipped");
        }
        assert!(
            decode("there", r#"{"k":"signed_out","from":"here"}"#).is_none(),
            "a sign-out naming nobody is ignored"
        );
    }

    #[test]
    fn a_withdrawal_is_an_update_on_the_wire_and_names_nobody() {
        let c = Change {
            datasource_id: "x".into(),
            what: What::Withdrawn {
                audience: vec!["ann@example.com".into()],
            },
        };
        let v = serde_json::to_value(&c).unwrap_or_default();
        assert_eq!(v["event"], "updated");
        assert_eq!(v["datasource_id"], "x");
        assert!(!v.to_string().contains("ann@example.com"));
    }

    #[test]
    fn a_change_serialises_with_its_event_name() {
        let c = Change {
            datasource_id: "x".into(),
            what: What::Status {
                sync_status: SyncStatus::Syncing,
                status_reason: None,
            },
        };
        let v = serde_json::to_value(&c).unwrap_or_default();
        assert_eq!(v["event"], "status");
        assert_eq!(v["sync_status"], "syncing");
        assert_eq!(v["datasource_id"], "x");
    }
}
