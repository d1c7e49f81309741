//! The sync status state machine. Every status change in the engine goes through
//! [`check_transition`]; anything not in [`TRANSITIONS`] is refused with a 409 that names the
//! current status.

use crate::domain::SyncStatus::{self, *};
use crate::error::{EngineError, Result};

/// Who asks for a change. Some transitions (leaving `error`) only a person may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The spyder manager or a spyder.
    System,
    /// A user, through the UI or the API.
    Person,
}

/// One allowed edge: `from → to`, who may take it, and what it means.
#[derive(Debug, Clone, Copy)]
pub struct Transition {
    pub from: SyncStatus,
    pub to: SyncStatus,
    /// `None`: anyone; `Some(Actor::Person)`: only a person.
    pub only: Option<Actor>,
    pub action: &'static str,
}

const fn t(from: SyncStatus, to: SyncStatus, action: &'static str) -> Transition {
    Transition {
        from,
        to,
        only: None,
        action,
    }
}

const fn person(from: SyncStatus, to: SyncStatus, action: &'static str) -> Transition {
    Transition {
        from,
        to,
        only: Some(Actor::Person),
        action,
    }
}

/// The whole table. `invited` is how a shared datasource looks to a user who has not accepted
/// yet; it is never a stored status, so no edge enters or leaves it.
pub const TRANSITIONS: &[Transition] = &[
    t(Created, Pending, "queue"),
    t(Pending, Syncing, "start"),
    person(Pending, Paused, "pause"),
    t(Syncing, Synced, "finish"),
    t(Syncing, Failed, "fail"),
    t(Syncing, Error, "error"),
    t(Syncing, Paused, "pause"),
    t(Synced, Pending, "queue"),
    // Pausing between scheduled runs stops the schedule until someone resumes.
    person(Synced, Paused, "pause"),
    t(Failed, Pending, "retry"),
    t(Failed, Error, "give up"),
    person(Failed, Paused, "pause"),
    person(Error, Pending, "queue"),
    person(Error, Paused, "pause"),
    person(Paused, Resuming, "resume"),
    t(Resuming, Syncing, "start"),
    person(Resuming, Paused, "pause"),
    t(Resuming, Failed, "fail"),
    t(Resuming, Error, "error"),
    // Pointed elsewhere by an owner: its credentials were dropped, and it waits for new ones.
    person(Pending, Created, "wait for credentials"),
    person(Synced, Created, "wait for credentials"),
    person(Failed, Created, "wait for credentials"),
    person(Error, Created, "wait for credentials"),
    person(Paused, Created, "wait for credentials"),
];

/// The edge `from → to` if the table has one that `actor` may take.
pub fn find(from: SyncStatus, to: SyncStatus, actor: Actor) -> Option<&'static Transition> {
    TRANSITIONS
        .iter()
        .find(|e| e.from == from && e.to == to && e.only.is_none_or(|a| a == actor))
}

/// Allows or refuses `from → to`. The error says what was attempted and what the status is.
pub fn check_transition(from: SyncStatus, to: SyncStatus, actor: Actor) -> Result<()> {
    match find(from, to, actor) {
        Some(_) => Ok(()),
        None => Err(EngineError::Transition {
            action: verb_for(to).into(),
            current: from,
        }),
    }
}

/// The verb a refusal uses, from the target status.
fn verb_for(to: SyncStatus) -> &'static str {
    match to {
        Pending => "queue a sync for",
        Syncing => "start syncing",
        Synced => "finish",
        Failed => "fail",
        Error => "mark as error",
        Paused => "pause",
        Resuming => "resume",
        Created => "drop the credentials of",
        Invited => "invite to",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The expected table written out longhand, independent of TRANSITIONS: (from, to, system, person).
    fn expected(from: SyncStatus, to: SyncStatus) -> (bool, bool) {
        match (from, to) {
            (Created, Pending) => (true, true),
            (Pending, Syncing) => (true, true),
            (Pending, Paused) => (false, true),
            (Syncing, Synced | Failed | Error | Paused) => (true, true),
            (Synced, Pending) => (true, true),
            (Synced, Paused) => (false, true),
            (Failed, Pending) => (true, true),
            (Failed, Error) => (true, true),
            (Failed, Paused) => (false, true),
            (Error, Pending) => (false, true),
            (Error, Paused) => (false, true),
            (Paused, Resuming) => (false, true),
            (Resuming, Syncing) => (true, true),
            (Resuming, Paused) => (false, true),
            (Resuming, Failed | Error) => (true, true),
            (Pending | Synced | Failed | Error | Paused, Created) => (false, true),
            _ => (false, false),
        }
    }

    #[test]
    fn every_pair_is_allowed_or_refused_as_specified() {
        let mut allowed = 0;
        for &from in SyncStatus::ALL {
            for &to in SyncStatus::ALL {
                let (sys, per) = expected(from, to);
                assert_eq!(
                    check_transition(from, to, Actor::System).is_ok(),
                    sys,
                    "system {from} -> {to}"
                );
                assert_eq!(
                    check_transition(from, to, Actor::Person).is_ok(),
                    per,
                    "person {from} -> {to}"
                );
                allowed += usize::from(per);
            }
        }
        assert_eq!(allowed, TRANSITIONS.len());
    }

    #[test]
    fn refusal_is_409_naming_current_status() {
        let e = check_transition(Paused, Syncing, Actor::System).unwrap_err();
        assert_eq!(e.status_code(), 409);
        assert!(e.to_string().contains("'paused'"), "{e}");
    }

    #[test]
    fn error_is_left_only_by_a_person() {
        assert!(check_transition(Error, Pending, Actor::System).is_err());
        assert!(check_transition(Error, Pending, Actor::Person).is_ok());
    }

    #[test]
    fn invited_is_never_entered_or_left() {
        for &s in SyncStatus::ALL {
            for a in [Actor::System, Actor::Person] {
                assert!(check_transition(s, Invited, a).is_err());
                assert!(check_transition(Invited, s, a).is_err());
            }
        }
    }
}
