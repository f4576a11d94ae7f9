//! Every input the fuzzer ever crashed on, replayed through the same checks.

use crate::util::article;

#[test]
fn saved_fuzz_inputs_no_longer_fail() {
    let engine = article().engine();
    let folder = crate::util::repo_file("tests/fuzz_regressions");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let input = std::fs::read(&path).unwrap();
        if name.starts_with("question-") {
            crate::fuzz_checks::check_question(engine, &input);
        } else if name.starts_with("corpus-") {
            crate::fuzz_checks::check_corpus(&input);
        } else if name.starts_with("html-") {
            crate::fuzz_checks::check_html(&input);
        } else if name.starts_with("pdf-") {
            crate::fuzz_checks::check_pdf(&input);
        } else {
            continue;
        }
        replayed += 1;
    }
    assert!(replayed > 0, "no saved inputs in {}", folder.display());
}
