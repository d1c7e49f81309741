//! Tributary's server: configuration, the axum router (pages, server functions, the REST API)
//! and start-up. `main.rs` only calls [`cli::run`].

// The OpenAPI document is one large `json!` literal.
#![recursion_limit = "256"]

pub mod api;
pub mod auth;
pub mod cli;
pub mod config;
pub mod csrf;
pub mod pages;
pub mod startup;

pub use config::Config;
pub use startup::{AppState, Application};
