//! One test a fixed bug, named for what was wrong.

use predicates::prelude::*;

use crate::util::{citebot, citebot_with_model, damage, largest_index_file, stdout_of, workspace};

// `citebot ask ""` with standard input not a terminal was taken for batch
// mode: it read nothing, printed nothing and exited 0.
#[test]
fn an_empty_question_argument_is_a_usage_error_even_with_stdin_piped() {
    let dir = workspace();
    for args in [
        &["ask", ""][..],
        &["ask", "", "  "][..],
        &["ask", "--json", ""][..],
    ] {
        citebot(dir.path())
            .args(args)
            .write_stdin("what is exon skipping?\n")
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains("the question is empty"));
    }
    // No argument at all with stdin piped is batch mode, as before.
    let out = stdout_of(
        citebot(dir.path())
            .arg("ask")
            .write_stdin("what is exon skipping?\n"),
    );
    assert!(out.to_lowercase().contains("exon skipping"), "{out}");
}

// 4 KB overwritten in the middle of the largest index file made `ask` fail
// with "search engine error: An IO error occurred: 'the offset to copy is not
// contained in the decompressed buffer'", naming neither the index nor a remedy.
#[test]
fn a_damaged_index_file_is_detected_and_rebuilt_before_answering() {
    let dir = workspace();
    citebot(dir.path()).arg("index").assert().success();
    let index = dir.path().join("index");
    let victim = largest_index_file(&index);
    damage(&victim, 4096);
    let assert = citebot(dir.path())
        .args(["ask", "what is exon skipping?"])
        .assert()
        .success()
        .stdout(predicate::str::contains("exon skipping"));
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    let name = victim.file_name().unwrap().to_string_lossy().into_owned();
    assert!(stderr.contains("rebuilding the index"), "{stderr}");
    assert!(
        stderr.contains("damaged files") && stderr.contains(&name),
        "{stderr}"
    );
    // Rebuilt once, then quiet.
    citebot(dir.path())
        .args(["ask", "what is exon skipping?"])
        .assert()
        .success()
        .stderr("");
}

// Passage vectors damaged on disk were ignored with a warning at every start,
// and the answers went on without the model's nearest passages for good.
#[test]
fn damaged_passage_vectors_are_detected_and_rebuilt_before_answering() {
    let dir = workspace();
    citebot_with_model(dir.path())
        .arg("index")
        .assert()
        .success();
    let vectors = crate::util::generation_dir(&dir.path().join("index")).join("vectors.bin");
    damage(&vectors, 64);
    let assert = citebot_with_model(dir.path())
        .args(["ask", "what is exon skipping?"])
        .assert()
        .success()
        .stdout(predicate::str::contains("xon skipping"));
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("damaged files: vectors.bin"), "{stderr}");
    citebot_with_model(dir.path())
        .args(["ask", "what is exon skipping?"])
        .assert()
        .success()
        .stderr("");
}

// A lead-in was shown as the answer's sentence on its own: "There are two
// types of gene therapy drug, each with its own … pathway:" named neither.
#[test]
fn a_lead_in_is_shown_with_the_list_it_introduces() {
    let hit = crate::util::article().top("What are the two types of gene therapy drugs?");
    let shown = hit.best_sentence_text();
    assert!(
        shown.starts_with("There are two types of gene therapy drug"),
        "{shown}"
    );
    assert!(
        shown.contains("oligonucleotides") && shown.contains("innovative biological products"),
        "{shown}"
    );
}
