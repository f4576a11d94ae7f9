use std::process::ExitCode;

fn main() -> ExitCode {
    match citebot::cli::run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("citebot: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
