//! The `tributary` binary. Everything lives in the library so tests reuse the same builder.

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    // An extraction child (see engine::process::sandbox): no runtime, no configuration.
    if args.get(1).map(String::as_str) == Some(engine::process::sandbox::SUBCOMMAND) {
        let code = engine::process::sandbox::child_main(&args[2..]);
        return std::process::ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(server::cli::run()),
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
