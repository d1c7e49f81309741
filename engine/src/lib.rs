//! Tributary's engine: everything below the UI. Domain types and the status state machine,
//! storage on SQLite and PostgreSQL, and the services the web layers call. Usable on its own
//! from tests and tools; it knows nothing of HTTP or Leptos.

pub mod blobs;
pub mod broker;
pub mod clock;
pub mod connector;
pub mod domain;
pub mod egress;
/// The engine's error type, with the domain types it names (see [`domain::error`]).
pub use domain::error;
pub mod events;
pub mod manager;
pub mod model;
pub mod process;
pub mod search;
pub mod service;
pub mod status;
pub mod store;
pub mod sync;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod wallet;

pub use error::{EngineError, Result};
pub use service::{Engine, EngineConfig};
