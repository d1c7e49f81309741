//! Login throttling: after a few wrong passwords for one account, further attempts are refused
//! for a while, doubling with each new failure (capped), so passwords cannot be guessed at speed.
//! Kept in memory: a restart forgets it, which costs an attacker a restart they cannot cause.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{EngineError, Result};

/// Wrong passwords allowed before the account is locked.
pub const FREE_ATTEMPTS: u32 = 5;
/// Wrong passwords allowed from one client address (across accounts) before it is locked:
/// more than for an account, since several people may share an address.
pub const FREE_ATTEMPTS_PER_ADDRESS: u32 = 20;

/// The throttle's key of a client address. IPv6 clients are keyed by their /64, which one
/// machine usually has whole.
pub fn address_key(ip: std::net::IpAddr) -> String {
    match ip.to_canonical() {
        std::net::IpAddr::V4(v4) => format!("addr:{v4}"),
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("addr:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}
/// A quiet period after which failures are forgotten.
const WINDOW: Duration = Duration::from_secs(15 * 60);
const MAX_LOCK: Duration = Duration::from_secs(15 * 60);

#[derive(Debug)]
struct Entry {
    failures: u32,
    last_failure: Instant,
    locked_until: Option<Instant>,
}

#[derive(Debug, Default)]
pub struct LoginThrottle {
    entries: Mutex<HashMap<String, Entry>>,
}

impl LoginThrottle {
    /// Refuses with 429 (and when to retry) while `key` is locked.
    pub fn check(&self, key: &str) -> Result<()> {
        let now = Instant::now();
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, e| {
            now.duration_since(e.last_failure) < WINDOW || e.locked_until.is_some_and(|u| u > now)
        });
        match map.get(key).and_then(|e| e.locked_until) {
            Some(until) if until > now => {
                let secs = (until - now).as_secs().max(1);
                let whose = if key.starts_with("addr:") {
                    "from this address"
                } else {
                    "for this account"
                };
                Err(EngineError::TooManyAttempts {
                    message: format!("too many wrong passwords {whose}; try again in {secs} s"),
                    retry_after_secs: secs,
                })
            }
            _ => Ok(()),
        }
    }

    pub fn failed(&self, key: &str) {
        let now = Instant::now();
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.entry(key.to_owned()).or_insert(Entry {
            failures: 0,
            last_failure: now,
            locked_until: None,
        });
        e.failures += 1;
        e.last_failure = now;
        let free = if key.starts_with("addr:") {
            FREE_ATTEMPTS_PER_ADDRESS
        } else {
            FREE_ATTEMPTS
        };
        if e.failures >= free {
            let exp = (e.failures - free).min(10);
            e.locked_until = Some(now + Duration::from_secs(1u64 << exp).min(MAX_LOCK) * 2);
        }
    }

    pub fn succeeded(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_free_attempts_and_unlocks_on_success() {
        let t = LoginThrottle::default();
        for _ in 0..FREE_ATTEMPTS - 1 {
            t.failed("a");
            assert!(t.check("a").is_ok());
        }
        t.failed("a");
        let e = t.check("a").unwrap_err();
        assert_eq!(e.status_code(), 429);
        assert!(t.check("b").is_ok(), "other accounts are not affected");
        t.succeeded("a");
        assert!(t.check("a").is_ok());
    }
}
