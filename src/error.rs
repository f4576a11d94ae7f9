//! The library's error type: each variant says what went wrong and what to do.

use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no corpus folder at {}: create it with .md, .txt, .html or .pdf files in it, or point --corpus (or CITEBOT_CORPUS) at one", .0.display())]
    NoCorpus(PathBuf),
    #[error("the corpus folder {} holds no document citebot reads (.md, .txt, .html, .pdf)", .0.display())]
    EmptyCorpus(PathBuf),
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("{} is not UTF-8 text (first bad byte at offset {offset}): save it as UTF-8 and run `citebot index` again", path.display())]
    NotUtf8 { path: PathBuf, offset: usize },
    /// A document citebot cannot read (a damaged PDF, one without text): skipped, not fatal.
    #[error("skipped {}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    #[error("{}:{line}: {message}", path.display())]
    Synonyms {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("cannot write the index in {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("there is no index in {} yet: run `citebot index` to build it", .0.display())]
    NoIndex(PathBuf),
    #[error("the index in {} cannot be used ({reason}); run `citebot index` to rebuild it", path.display())]
    BadIndex { path: PathBuf, reason: String },
    #[error("search engine error: {0}")]
    Engine(#[from] tantivy::TantivyError),
}

impl Error {
    pub(crate) fn read(path: &Path, source: io::Error) -> Self {
        Error::Read {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn write(path: &Path, source: io::Error) -> Self {
        Error::Write {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn bad_index(path: &Path, reason: impl std::fmt::Display) -> Self {
        Error::BadIndex {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        }
    }
}
