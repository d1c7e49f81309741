//! The server's integration tests, one binary (one link) for all: the REST API, the pages and
//! server functions over real HTTP on loopback, on SQLite and PostgreSQL alike; authorization
//! for every persona; attacks; crash recovery; the hostile corpus. (`secrets.rs` is a binary of
//! its own: it captures every log line of its process.)

mod common;

mod api;
mod authz;
mod crash;
mod hostile;
mod security;
