//! The process's exit codes.

/// How `citebot` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Answered, not covered, indexed, served.
    Success = 0,
    /// Something failed; a message says what to do.
    Failure = 1,
    /// The command line (or the question) is unusable as given.
    Usage = 2,
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code as u8)
    }
}
