//! A short-lived cache of token → user, so a script's burst of API calls does not look its
//! token up in the database on every request. Entries live a few seconds; logging out,
//! deactivating a user and resetting a password drop that user's entries at once, so the cache
//! only ever delays the natural expiry of a token by at most [`TTL`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::model::User;

pub const TTL: Duration = Duration::from_secs(5);
const MAX_ENTRIES: usize = 10_000;

#[derive(Default)]
pub struct AuthCache {
    entries: Mutex<HashMap<String, (User, Instant)>>,
}

impl AuthCache {
    pub fn get(&self, token_hash: &str) -> Option<User> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        map.get(token_hash)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(u, _)| u.clone())
    }

    pub fn put(&self, token_hash: String, user: User) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (_, at)| at.elapsed() < TTL);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(token_hash, (user, Instant::now()));
    }

    pub fn forget_token(&self, token_hash: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(token_hash);
    }

    pub fn forget_user(&self, user_id: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, (u, _)| u.id != user_id);
    }
}
