use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match citebot::cli::run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("citebot: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
