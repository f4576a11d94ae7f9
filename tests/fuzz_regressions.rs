//! Every input the fuzzer ever crashed on, replayed through the same checks.

mod common;
mod fuzz_checks;

use citebot::config::SearchConfig;
use citebot::index::{self, Index};
use citebot::search::Engine;

#[test]
fn saved_fuzz_inputs_no_longer_fail() {
    let dir = common::workspace();
    let index_dir = dir.path().join("index");
    index::build(&dir.path().join("corpus"), &index_dir).unwrap();
    let engine = Engine::new(Index::open(&index_dir).unwrap(), SearchConfig::default());
    let folder = common::repo_file("tests/fuzz_regressions");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let input = std::fs::read(&path).unwrap();
        if name.starts_with("question-") {
            fuzz_checks::check_question(&engine, &input);
        } else if name.starts_with("corpus-") {
            fuzz_checks::check_corpus(&input);
        } else {
            continue;
        }
        replayed += 1;
    }
    assert!(replayed > 0, "no saved inputs in {}", folder.display());
}
