//! Tributary's server: configuration, the axum router (pages, server functions, the REST API)
//! and start-up. `main.rs` only calls [`cli::run`].

// The OpenAPI document is one large `json!` literal.
#![recursion_limit = "256"]

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod csrf;
pub mod headers;
pub mod pages;
pub mod startup;

/// mimalloc for every program built on this library: the binary, its tests and its benches
/// (which so measure the allocator the server ships with). glibc's malloc was an eighth of the
/// CPU of an `@getAllChildren` page under load, and its consolidations of freed file buffers a
/// tenth of the blob writers' time while syncing.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub use config::Config;
pub use startup::{AppState, Application};
