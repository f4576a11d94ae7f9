use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match citebot::cli::run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("citebot: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
