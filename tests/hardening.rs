//! Hostile questions, damaged indexes, killed and concurrent rebuilds: the
//! binary answers every question and never loses a working index.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::{citebot, generation_dir, json_lines, workspace};
use predicates::prelude::*;
use serde_json::Value;

fn ask_json(dir: &Path, question: &str) -> (Value, String) {
    let out = citebot(dir)
        .args(["ask", "--json", question])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let answer = serde_json::from_slice(&out.stdout).unwrap();
    (answer, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn answers_exon_skipping(dir: &Path) -> String {
    let (answer, stderr) = ask_json(dir, "what is exon skipping");
    assert_eq!(answer["answered"], true, "{answer}");
    assert!(answer["passages"][0]["text"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("exon"));
    stderr
}

#[test]
fn hostile_questions_all_get_an_answer_line_in_order() {
    let dir = workspace();
    let mut input: Vec<u8> = Vec::new();
    let lines: Vec<Vec<u8>> = vec![
        b"\"".to_vec(),
        b"(((".to_vec(),
        b"title:*".to_vec(),
        b"a~2".to_vec(),
        b"AND OR NOT".to_vec(),
        b"[a TO z]".to_vec(),
        b"\\".to_vec(),
        b"'; DROP TABLE passages; --".to_vec(),
        b"<script>alert(1)</script><img src=x onerror=alert(1)>".to_vec(),
        b"\x01\x02\x1b[31mred\x1b[0m\x7f".to_vec(),
        "zero\u{200b}width\u{200d} and \u{202e}right-to-left\u{202c} marks"
            .as_bytes()
            .to_vec(),
        "🧬🧬🧬 🦠💉".as_bytes().to_vec(),
        "gene ".repeat(20_000).into_bytes(),
        "é".repeat(5_000).into_bytes(),
        b"\xff\xfe\xfd invalid".to_vec(),
        b"what is exon skipping".to_vec(),
    ];
    for line in &lines {
        input.extend_from_slice(line);
        input.push(b'\n');
    }
    let out = citebot(dir.path())
        .args(["ask", "--json"])
        .write_stdin(input)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answers = json_lines(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(answers.len(), lines.len());
    assert_eq!(
        answers[12]["notice"],
        "Only the first 1000 characters of the question were read."
    );
    assert_eq!(answers[14]["error"], "line 15 is not UTF-8 text");
    assert_eq!(answers[15]["answered"], true);
    for (i, a) in answers.iter().enumerate().take(12) {
        assert!(a["verdict"].is_string(), "line {i}: {a}");
    }
}

#[test]
fn hostile_questions_on_the_command_line_exit_zero() {
    let dir = workspace();
    for question in [
        "\"",
        "(((",
        "title:*",
        "a~2",
        "AND OR NOT",
        "[a TO z]",
        "\\",
        "*",
        "-",
        "''",
    ] {
        citebot(dir.path())
            .args(["ask", question])
            .assert()
            .success();
    }
}

#[test]
fn a_truncated_index_file_is_detected_and_rebuilt() {
    let dir = workspace();
    citebot(dir.path()).arg("index").assert().success();
    let generation = generation_dir(&dir.path().join("index"));
    for entry in fs::read_dir(&generation).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".store") || name.ends_with(".idx") || name.ends_with(".term") {
            let bytes = fs::read(&path).unwrap();
            fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        }
    }
    let stderr = answers_exon_skipping(dir.path());
    assert_eq!(
        stderr.matches("rebuilding the index").count(),
        1,
        "{stderr}"
    );
    assert!(
        answers_exon_skipping(dir.path()).is_empty(),
        "rebuilt once, then quiet"
    );
}

#[test]
fn an_overwritten_manifest_or_meta_is_detected_and_rebuilt() {
    for victim in ["manifest.json", "meta.json", "lexicon.json"] {
        let dir = workspace();
        citebot(dir.path()).arg("index").assert().success();
        let generation = generation_dir(&dir.path().join("index"));
        fs::write(generation.join(victim), b"\0garbage\0").unwrap();
        let stderr = answers_exon_skipping(dir.path());
        assert!(
            stderr.contains("rebuilding the index"),
            "{victim}: {stderr}"
        );
    }
}

#[test]
fn a_missing_or_dangling_pointer_is_rebuilt() {
    let dir = workspace();
    citebot(dir.path()).arg("index").assert().success();
    let index = dir.path().join("index");
    fs::remove_file(index.join("CURRENT")).unwrap();
    assert!(answers_exon_skipping(dir.path()).contains("there is no index yet"));
    fs::write(index.join("CURRENT"), "gen-0-0\n").unwrap();
    assert!(answers_exon_skipping(dir.path()).contains("rebuilding the index"));
    fs::write(index.join("CURRENT"), "../../etc\n").unwrap();
    assert!(answers_exon_skipping(dir.path()).contains("rebuilding the index"));
}

#[test]
fn leftovers_of_a_killed_build_do_not_matter_and_are_cleaned_up() {
    let dir = workspace();
    citebot(dir.path()).arg("index").assert().success();
    let index = dir.path().join("index");
    // A half-built generation with tantivy's lock files, from a build killed long ago.
    let leftover = index.join("gen-1-99999");
    fs::create_dir(&leftover).unwrap();
    fs::write(leftover.join(".tantivy-writer.lock"), b"").unwrap();
    fs::write(leftover.join("meta.json"), b"{").unwrap();
    let old = std::time::SystemTime::now() - Duration::from_secs(3600);
    fs::File::open(&leftover)
        .unwrap()
        .set_modified(old)
        .unwrap();
    answers_exon_skipping(dir.path());
    citebot(dir.path()).arg("index").assert().success();
    assert!(!leftover.exists(), "the abandoned build was removed");
}

#[test]
fn index_killed_at_random_moments_never_leaves_an_unrecoverable_state() {
    let dir = workspace();
    let binary = env!("CARGO_BIN_EXE_citebot");
    // Deterministic spread of kill times across a build (a build takes tens of ms).
    for i in 0..12u64 {
        let mut child = Command::new(binary)
            .arg("index")
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis((i * 37) % 150));
        let _ = child.kill();
        let _ = child.wait();
        answers_exon_skipping(dir.path());
    }
    let generations = fs::read_dir(dir.path().join("index"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("manifest.json").exists())
        .count();
    assert!(generations <= 2, "{generations} complete generations left");
}

#[test]
fn three_processes_asking_while_the_index_rebuilds_six_times_fail_nothing() {
    let dir = workspace();
    citebot(dir.path()).arg("index").assert().success();
    let binary = env!("CARGO_BIN_EXE_citebot");
    let root = dir.path().to_path_buf();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let askers: Vec<_> = (0..3)
        .map(|n| {
            let (root, stop) = (root.clone(), std::sync::Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut asked = 0;
                let mut failures = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::SeqCst) || asked < 5 {
                    let out = Command::new(binary)
                        .args([
                            "ask",
                            "--json",
                            if n % 2 == 0 {
                                "what is exon skipping"
                            } else {
                                "how are AAV vectors delivered?"
                            },
                        ])
                        .current_dir(&root)
                        .output()
                        .unwrap();
                    let ok = out.status.success()
                        && serde_json::from_slice::<Value>(&out.stdout)
                            .is_ok_and(|v| v["answered"] == true);
                    if !ok {
                        failures.push(String::from_utf8_lossy(&out.stderr).into_owned());
                    }
                    asked += 1;
                }
                (asked, failures)
            })
        })
        .collect();
    for _ in 0..6 {
        citebot(dir.path()).arg("index").assert().success();
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    for asker in askers {
        let (asked, failures) = asker.join().unwrap();
        assert!(asked >= 5);
        assert!(
            failures.is_empty(),
            "{} of {asked} failed: {failures:?}",
            failures.len()
        );
    }
}

#[test]
fn an_unwritable_index_location_is_reported_and_the_old_index_still_answers() {
    let dir = workspace();
    citebot(dir.path()).arg("index").assert().success();
    // A file where the index folder should be cannot be written into, even by root.
    fs::write(dir.path().join("blocked"), b"not a folder").unwrap();
    citebot(dir.path())
        .args(["index", "--index", "blocked"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "cannot write the index in blocked",
        ));
    // When a needed rebuild fails, the previous index answers and stays current.
    let index = dir.path().join("index");
    let generation = generation_dir(&index);
    fs::write(dir.path().join("corpus/bad.md"), b"\xff").unwrap();
    let stderr = answers_exon_skipping(dir.path());
    assert!(
        stderr.contains("answering from the previous index"),
        "{stderr}"
    );
    assert_eq!(generation_dir(&index), generation);
}

#[test]
fn odd_corpus_files_are_indexed_or_named() {
    let dir = workspace();
    let corpus = dir.path().join("corpus");
    fs::create_dir_all(corpus.join("deep/er/still")).unwrap();
    fs::write(corpus.join("empty.md"), b"").unwrap();
    fs::write(
        corpus.join("no-headings.txt"),
        "Platypus venom is studied here.\n\nSecond block.\n",
    )
    .unwrap();
    fs::write(
        corpus.join("deep/er/still/odd.md"),
        "# T\n\n<div>html <b>block</b></div>\n\n| a | b |\n|---|---|\n| tablecell | x |\n\n- a\n  - b\n    - nestedword\n\n###### deep heading\n\ntext under it\n",
    )
    .unwrap();
    let big = "word ".repeat(200_000) + "bigparagraphend.";
    fs::write(corpus.join("big.txt"), big).unwrap();
    citebot(dir.path())
        .arg("index")
        .assert()
        .success()
        .stdout(predicate::str::contains("Indexed 5 document(s)"));
    for (q, file) in [
        ("platypus venom", "no-headings.txt"),
        ("nestedword", "odd.md"),
        ("tablecell", "odd.md"),
        ("bigparagraphend", "big.txt"),
    ] {
        let (answer, _) = ask_json(dir.path(), q);
        assert_eq!(answer["answered"], true, "{q}: {answer}");
        assert!(
            answer["passages"][0]["citation"]["file"]
                .as_str()
                .unwrap()
                .ends_with(file),
            "{q}: {answer}"
        );
    }
}
