//! The engine's integration tests, one binary (one link) for all: each module a scenario area,
//! on real SQLite and PostgreSQL databases, real RabbitMQ, moto for S3, and fakes of Dropbox's
//! and Slack's HTTP APIs on loopback written from their public references.

mod common;

mod broker;
mod dropbox;
mod relay;
mod s3;
mod search;
mod slack;
mod story;
mod sync;
