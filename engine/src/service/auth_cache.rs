//! A short-lived cache of token → user, so a script's burst of API calls does not look its
//! token up in the database on every request. Entries live a few seconds; logging out,
//! deactivating a user, changing or resetting a password and revoking a token drop the entries
//! concerned at once, here and (through the live-event relay, on PostgreSQL) on every other
//! server, so the cache never keeps a session alive after it was ended. Otherwise it only
//! delays the natural expiry of a token by at most [`TTL`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::model::User;

pub const TTL: Duration = Duration::from_secs(5);
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct AuthCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, (User, Instant)>,
    /// Counts the forgets: a lookup that began before one must not put back what it dropped.
    generation: u64,
}

impl AuthCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, token_hash: &str) -> Option<User> {
        self.lock()
            .entries
            .get(token_hash)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(u, _)| u.clone())
    }

    /// Where the cache is now: read it before looking a token up, and pass it to [`Self::put`].
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Keeps `user` for `token_hash`, unless something was forgotten since `generation` (the
    /// lookup may have read the database before that sign-in ended).
    pub fn put(&self, token_hash: String, user: User, generation: u64) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.retain(|_, (_, at)| at.elapsed() < TTL);
            if inner.entries.len() >= MAX_ENTRIES {
                inner.entries.clear();
            }
        }
        inner.entries.insert(token_hash, (user, Instant::now()));
    }

    pub fn forget_token(&self, token_hash: &str) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.remove(token_hash);
    }

    pub fn forget_user(&self, user_id: &str) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.retain(|_, (u, _)| u.id != user_id);
    }

    /// Forgets everything (sign-ins may have ended elsewhere unheard).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AccountRole;

    fn user(id: &str) -> User {
        User {
            id: id.into(),
            email: format!("{id}@example.com"),
            display_name: String::new(),
            role: AccountRole::Member,
            active: true,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn forgetting_drops_what_it_names_and_only_that() {
        let cache = AuthCache::default();
        cache.put("t1".into(), user("a"), cache.generation());
        cache.put("t2".into(), user("a"), cache.generation());
        cache.put("t3".into(), user("b"), cache.generation());
        cache.forget_token("t1");
        assert!(cache.get("t1").is_none());
        assert!(cache.get("t2").is_some());
        cache.forget_user("a");
        assert!(cache.get("t2").is_none());
        assert_eq!(cache.get("t3").map(|u| u.id), Some("b".into()));
        cache.clear();
        assert!(cache.get("t3").is_none());
    }

    #[test]
    fn a_lookup_that_began_before_a_sign_out_does_not_put_it_back() {
        let cache = AuthCache::default();
        let before = cache.generation();
        // The lookup read the database; meanwhile the user was signed out.
        cache.forget_user("a");
        cache.put("t1".into(), user("a"), before);
        assert!(cache.get("t1").is_none());
        cache.put("t1".into(), user("a"), cache.generation());
        assert!(cache.get("t1").is_some());
    }
}
