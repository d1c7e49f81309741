//! Time and identity, at the bottom of the engine: every layer takes the current time and new
//! ids from here (the store takes them as parameters where a caller decides them).

/// A new random id: 32 lowercase hex characters.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The current time at microsecond precision: what both databases store, so a value read back
/// equals the value written.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    truncate_micros(chrono::Utc::now())
}

/// `t` at the microsecond precision the databases keep.
pub fn truncate_micros(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    use chrono::SubsecRound;
    t.trunc_subsecs(6)
}
