//! Live changes: every status change, every committed sync batch and every processed batch is
//! announced here, so the web layer can push it to browsers (server-sent events) instead of
//! having them poll.
//!
//! The channel is in-process and lossy by design: a slow listener that falls behind is told so
//! ([`Listener::next`] answers [`Heard::Missed`]) and should refetch what it shows. The database
//! stays the truth; an event only says "look again".

use serde::Serialize;
use tokio::sync::broadcast;

use crate::domain::SyncStatus;

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

/// The sending side, held by the engine.
#[derive(Debug, Clone)]
pub struct Events {
    tx: broadcast::Sender<Change>,
}

impl Default for Events {
    fn default() -> Self {
        Self {
            tx: broadcast::channel(BACKLOG).0,
        }
    }
}

impl Events {
    /// Announces a change; nobody listening is fine.
    pub fn publish(&self, datasource_id: &str, what: What) {
        let _ = self.tx.send(Change {
            datasource_id: datasource_id.to_owned(),
            what,
        });
    }

    pub fn listen(&self) -> Listener {
        Listener {
            rx: self.tx.subscribe(),
        }
    }
}

/// What a listener heard.
#[derive(Debug, Clone, PartialEq)]
pub enum Heard {
    Change(Change),
    /// This many changes were dropped because the listener was slow: refetch everything.
    Missed(u64),
}

pub struct Listener {
    rx: broadcast::Receiver<Change>,
}

impl Listener {
    /// The next change; `None` once the engine is gone.
    pub async fn next(&mut self) -> Option<Heard> {
        match self.rx.recv().await {
            Ok(c) => Some(Heard::Change(c)),
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
