//! What the engine's integration tests share.

/// Runs each scenario on both backends, as a test of its own: `super::run(backend, scenario)`
/// sets the scenario's world up on a fresh SQLite or PostgreSQL database and tears it down.
macro_rules! on_both {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { super::run("sqlite", super::$name).await })+
        }
        mod postgres {
            $(#[tokio::test] async fn $name() { super::run("postgres", super::$name).await })+
        }
    };
}
pub(crate) use on_both;
