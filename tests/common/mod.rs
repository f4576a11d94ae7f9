//! Helpers shared by the black-box tests: a scratch folder holding a copy of
//! the repository's corpus, and the real `citebot` binary run inside it.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A temporary working directory with `corpus/` copied from the repository.
pub fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&repo_file("corpus"), &dir.path().join("corpus"));
    dir
}

/// A temporary working directory whose `corpus/` holds one Markdown file, `text`.
pub fn workspace_with(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::create_dir(dir.path().join("corpus")).expect("create corpus");
    fs::write(dir.path().join("corpus/a.md"), text).expect("write corpus");
    dir
}

pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create dir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// The citebot binary, run in `dir`, with no colour and no config from the environment.
pub fn citebot(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("citebot").expect("binary");
    cmd.current_dir(dir)
        .env_remove("CITEBOT_CORPUS")
        .env_remove("CITEBOT_INDEX")
        .env_remove("CITEBOT_CONFIG")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1");
    cmd
}

/// Runs `cmd`, expects success, and returns its standard output.
pub fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(out).expect("UTF-8 output")
}
