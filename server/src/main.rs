//! The `tributary` binary. Everything lives in the library so tests reuse the same builder.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    server::cli::run().await
}
