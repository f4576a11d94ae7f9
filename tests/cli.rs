//! The `citebot` binary, black-box: first use, staleness, batch mode, JSON
//! shape, exit codes and the text answer.

use std::fs;

use crate::util::{citebot, citebot_with_model, json_lines, repo_file, stdout_of, workspace};
use predicates::prelude::*;
use serde_json::Value;

#[test]
fn first_use_builds_the_index_then_reuses_it() {
    let dir = workspace();
    citebot(dir.path())
        .args(["ask", "how are AAV vectors delivered?"])
        .assert()
        .success()
        .stderr(
            predicate::str::contains("rebuilding the index")
                .and(predicate::str::contains("there is no index yet")),
        )
        .stdout(predicate::str::contains("corpus/gene-therapy.md:"));
    assert!(dir.path().join("index/CURRENT").exists());
    citebot(dir.path())
        .args(["ask", "how are AAV vectors delivered?"])
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
}

#[test]
fn index_piped_prints_one_report_line_with_peak_memory_and_no_progress_bar() {
    let dir = workspace();
    let out = citebot(dir.path())
        .args(["index"])
        .env("CITEBOT_WRITER_MEMORY_MB", "30")
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("73 passages"), "{stdout}");
    assert!(stdout.contains("peak memory"), "{stdout}");
    // A progress bar draws on stderr with carriage returns; piped, there is none.
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_edited_corpus_is_reindexed_before_answering() {
    let dir = workspace();
    citebot(dir.path())
        .arg("index")
        .assert()
        .success()
        .stdout(predicate::str::contains("Indexed 1 document(s)"));
    let file = dir.path().join("corpus/gene-therapy.md");
    let mut text = fs::read_to_string(&file).unwrap();
    text.push_str("\nThe quokkagene protocol was added to this corpus by a test of staleness.\n");
    fs::write(&file, text).unwrap();
    let out = citebot(dir.path())
        .args(["ask", "--json", "quokkagene protocol"])
        .assert()
        .success()
        .stderr(predicate::str::contains("gene-therapy.md was edited"))
        .get_output()
        .stdout
        .clone();
    let answer: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(answer["answered"], true);
    assert!(answer["passages"][0]["text"]
        .as_str()
        .unwrap()
        .contains("quokkagene"));
}

#[test]
fn a_new_corpus_file_is_noticed_too() {
    let dir = workspace();
    citebot(dir.path()).arg("index").assert().success();
    fs::create_dir(dir.path().join("corpus/notes")).unwrap();
    fs::write(
        dir.path().join("corpus/notes/extra.txt"),
        "Zebrafish fins regrow after injury.\n",
    )
    .unwrap();
    citebot(dir.path())
        .args(["ask", "zebrafish fins"])
        .assert()
        .success()
        .stderr(predicate::str::contains("the corpus has other files"))
        .stdout(predicate::str::contains("corpus/notes/extra.txt:1-1"));
}

#[test]
fn json_has_the_documented_shape() {
    let dir = workspace();
    let out = stdout_of(citebot(dir.path()).args([
        "ask", "--json", "--top", "2", "what", "is", "exon", "skipping",
    ]));
    let text = out;
    assert_eq!(text.lines().count(), 1, "one object a line");
    let answer: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(answer["question"], "what is exon skipping");
    assert_eq!(answer["answered"], true);
    let passages = answer["passages"].as_array().unwrap();
    assert_eq!(passages.len(), 2);
    let first = &passages[0];
    assert_eq!(first["rank"], 1);
    assert!(first["score"].as_f64().unwrap() > 0.0);
    assert!(first["text"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("exon skipping"));
    let citation = &first["citation"];
    assert_eq!(citation["document"], "Gene therapy");
    assert_eq!(citation["file"], "corpus/gene-therapy.md");
    assert!(citation["section"].as_str().unwrap().contains("Modify RNA"));
    let lines = citation["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].as_u64().unwrap() <= lines[1].as_u64().unwrap());
}

#[test]
fn batch_mode_answers_each_line_in_order() {
    let dir = workspace();
    let mut input = b"what is gene therapy?\n\nhow are AAV vectors delivered?\n".to_vec();
    input.extend_from_slice(b"bad \xff\xfe line\nhi bot\n");
    let out = stdout_of(
        citebot(dir.path())
            .args(["ask", "--json"])
            .write_stdin(input),
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["question"], "what is gene therapy?");
    assert_eq!(lines[0]["answered"], true);
    assert_eq!(lines[1]["error"], "empty question");
    assert_eq!(lines[2]["question"], "how are AAV vectors delivered?");
    assert_eq!(lines[3]["error"], "line 4 is not UTF-8 text");
    assert_eq!(lines[4]["verdict"], "greeting");
}

// Batch mode answers the lines already waiting together; a program that
// writes one question and waits for its answer before the next must still
// get it (the model's batching must not wait for a full batch).
#[test]
fn batch_mode_answers_a_line_before_the_next_is_written() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::Stdio;
    use std::time::Duration;

    let dir = workspace();
    let cmd = citebot_with_model(dir.path());
    let mut child = std::process::Command::new(cmd.get_program())
        .current_dir(dir.path())
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .env_remove("CITEBOT_MODEL")
        .args(["ask", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (send, answers) = std::sync::mpsc::channel();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines() {
            if send.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    // Generous: the first answer waits for the index to be built.
    let wait = Duration::from_secs(120);
    for question in ["how much does glybera cost", "what is exon skipping"] {
        writeln!(stdin, "{question}").unwrap();
        stdin.flush().unwrap();
        let line = answers
            .recv_timeout(wait)
            .expect("an answer before the next line");
        let answer: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(answer["question"], question);
        assert!(answer["confidence"].is_number(), "{line}");
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn batch_mode_without_json_prints_one_line_per_question() {
    let dir = workspace();
    let out = stdout_of(
        citebot(dir.path())
            .arg("ask")
            .write_stdin("what is exon skipping\nblorptastic zzqx\n"),
    );
    let text = out;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].contains("corpus/gene-therapy.md:"));
    assert!(lines[1].starts_with("not covered"));
}

#[test]
fn an_empty_question_is_a_usage_error() {
    let dir = workspace();
    citebot(dir.path())
        .args(["ask", "   "])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("the question is empty"));
}

#[test]
fn a_bad_option_is_a_usage_error() {
    let dir = workspace();
    citebot(dir.path())
        .args(["ask", "--topp", "3", "x"])
        .assert()
        .code(2);
}

#[test]
fn a_missing_corpus_is_a_failure_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    citebot(dir.path())
        .args(["ask", "--corpus", "nowhere", "what is gene therapy"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no corpus folder at nowhere"));
}

#[test]
fn environment_variables_choose_the_folders() {
    let dir = workspace();
    fs::rename(dir.path().join("corpus"), dir.path().join("articles")).unwrap();
    citebot(dir.path())
        .env("CITEBOT_CORPUS", "articles")
        .env("CITEBOT_INDEX", "idx")
        .args(["ask", "exon skipping"])
        .assert()
        .success()
        .stdout(predicate::str::contains("articles/gene-therapy.md:"));
    assert!(dir.path().join("idx/CURRENT").exists());
}

#[test]
fn a_non_utf8_corpus_file_is_named_and_the_old_index_answers() {
    let dir = workspace();
    citebot(dir.path()).arg("index").assert().success();
    fs::write(dir.path().join("corpus/broken.txt"), b"caf\xe9 au lait\n").unwrap();
    citebot(dir.path())
        .arg("index")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("corpus/broken.txt is not UTF-8"));
    citebot(dir.path())
        .args(["ask", "exon skipping"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "answering from the previous index",
        ))
        .stdout(predicate::str::contains("exon"));
}

#[test]
fn text_answer_snapshot() {
    let dir = workspace();
    let out = stdout_of(citebot_with_model(dir.path()).args([
        "ask",
        "--top",
        "2",
        "how are AAV vectors delivered?",
    ]));
    insta::assert_snapshot!(out);
}

#[test]
fn not_covered_snapshot() {
    let dir = workspace();
    let out =
        stdout_of(citebot_with_model(dir.path()).args(["ask", "blorptastic zzqx frobnication"]));
    insta::assert_snapshot!(out);
}

#[test]
fn eval_top_limits_the_passages_counted() {
    // Regression: `--top 1` used to be applied after the figures were counted, changing nothing.
    let dir = workspace();
    let questions = dir.path().join("q.jsonl");
    fs::write(
        &questions,
        r#"{"id":"t1","question":"how are AAV vectors delivered?","answers":["adeno-associated virus (or AAV)"],"answerable":true}"#,
    )
    .unwrap();
    let all_line = |top: &str| {
        let out = stdout_of(citebot(dir.path()).args(["eval", "q.jsonl", "--top", top]));
        out.lines().nth(1).unwrap().to_string()
    };
    // The AAV passage ranks second: inside the top 3, outside the top 1.
    assert!(
        all_line("3").contains("0.000  1.000  1.000"),
        "{}",
        all_line("3")
    );
    assert!(
        all_line("1").contains("0.000  0.000  0.000"),
        "{}",
        all_line("1")
    );
}

/// A model folder that is not there and a copy of the shipped `model` in
/// `dir` with its weights damaged, each with what the warning says of it.
fn broken_models(dir: &std::path::Path, model: &str) -> [(std::path::PathBuf, &'static str); 2] {
    let damaged = dir.join("damaged-model");
    crate::util::copy_dir(&repo_file(model), &damaged);
    crate::util::damage(&damaged.join("model.safetensors"), 64);
    [
        (dir.join("no-model"), "no model at"),
        (damaged, "is damaged"),
    ]
}

#[test]
fn a_missing_or_damaged_model_is_one_warning_and_the_lexical_answer() {
    let dir = workspace();
    citebot(dir.path()).arg("index").assert().success();
    for (model, says) in broken_models(dir.path(), "models/all-MiniLM-L6-v2") {
        let assert = citebot_with_model(dir.path())
            .env("CITEBOT_MODEL", &model)
            .args(["ask", "what is exon skipping?"])
            .assert()
            .success()
            .stdout(predicates::str::contains("xon skipping"));
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(says) && stderr.contains("lexical search only"),
            "{stderr}"
        );
    }
}

// Issue 22: the verdict's second opinion (bge-small) is optional: without
// its model the verdict is the semantic stage's alone, after one warning;
// an index built without its vectors is rebuilt once the model loads.
#[test]
fn a_missing_or_damaged_second_model_is_one_warning_and_the_first_models_verdict() {
    let dir = workspace();
    let confidence = |cmd: &mut assert_cmd::Command| {
        let out = cmd
            .args([
                "ask",
                "--json",
                "leaving out the faulty part of the dystrophin gene",
            ])
            .assert()
            .success();
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        let answer: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
        assert!(answer["passages"][0]["text"]
            .as_str()
            .unwrap()
            .contains("xon skipping"));
        (answer["confidence"].as_f64().unwrap(), stderr)
    };
    let generation = |dir: &std::path::Path| fs::read_to_string(dir.join("index/CURRENT")).unwrap();
    let (alone, stderr) =
        confidence(citebot_with_model(dir.path()).env("CITEBOT_SECOND_MODEL", "off"));
    assert_eq!(stderr.lines().count(), 1, "the first build: {stderr}");
    let built = generation(dir.path());
    assert!(!dir
        .path()
        .join("index")
        .join(built.trim())
        .join("second-vectors.bin")
        .exists());
    let (with_second, stderr) = confidence(&mut citebot_with_model(dir.path()));
    assert!(
        stderr.contains("no vectors by the second opinion's model"),
        "{stderr}"
    );
    let rebuilt = generation(dir.path());
    assert!(dir
        .path()
        .join("index")
        .join(rebuilt.trim())
        .join("second-vectors.bin")
        .exists());
    assert_ne!(
        alone, with_second,
        "the second opinion moved the confidence"
    );
    for (model, says) in broken_models(dir.path(), "models/bge-small-en-v1.5") {
        let (confidence, stderr) =
            confidence(citebot_with_model(dir.path()).env("CITEBOT_SECOND_MODEL", &model));
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(says) && stderr.contains("without the second opinion"),
            "{stderr}"
        );
        assert_eq!(confidence, alone);
    }
    assert_eq!(
        generation(dir.path()),
        rebuilt,
        "an index with more vectors serves"
    );
}

// The contract outside tools drive (issue 23): one turn a line in, one JSON
// answer a line out with `understood_as`; `/new` prints nothing and forgets.
#[test]
fn chat_reads_follow_ups_in_context_one_answer_a_line() {
    let dir = workspace();
    let out = stdout_of(citebot(dir.path()).args(["chat", "--json"]).write_stdin(
        "what is glybera\nhow much does it cost?\n/more\n/new\nhow much does it cost?\n\n",
    ));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 5, "{out}");
    assert_eq!(lines[0]["understood_as"], Value::Null);
    let understood = lines[1]["understood_as"].as_str().unwrap();
    assert!(
        understood.to_lowercase().contains("glybera"),
        "{understood}"
    );
    let best = lines[1]["passages"][0]["best_sentence"].as_str().unwrap();
    assert!(best.contains("Glybera costs"), "{best}");
    assert_eq!(lines[2]["question"], "how much does it cost?");
    assert_eq!(
        lines[2]["passages"][0]["rank"], 4,
        "/more: the next passages"
    );
    assert_eq!(lines[3]["understood_as"], Value::Null, "after /new");
    assert_eq!(lines[4]["error"], "empty question");
}

// Regression: after "btw, what is CRISPR", a follow-up carried "btw" as a
// word of the subject, and the words of the conversation before the switch
// ("glybera", "cost") with it.
#[test]
fn a_follow_up_after_a_fresh_start_carries_only_the_new_subject() {
    let dir = workspace();
    let out = stdout_of(citebot(dir.path()).args(["chat", "--json"]).write_stdin(
        "what is glybera\nhow much does it cost?\nbtw what is CRISPR\ntell me more\n",
    ));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 4, "{out}");
    let understood = lines[3]["understood_as"].as_str().unwrap().to_lowercase();
    assert!(understood.contains("crispr"), "{understood}");
    for earlier in ["btw", "glybera", "cost"] {
        assert!(!understood.contains(earlier), "{understood}");
    }
}

// Issue 23, the thirteenth conversation set: a follow-up worded to stand
// alone that names something by a definite description ("the stem cells")
// is ranked with the conversation's words, and asked alone it finds another
// passage; whether it is covered is still judged on its own words, so an
// unrelated question with "the" is declined however near the conversation.
#[test]
fn a_definite_description_is_ranked_in_the_conversation_but_judged_on_its_own() {
    let dir = workspace();
    let follow_up = "the stem cells are edited with which tool?";
    let out = stdout_of(
        citebot(dir.path())
            .args(["chat", "--json"])
            .write_stdin(format!(
                "HIV-resistant cells: which cells are targeted by the virus\n{follow_up}\n\
         what is the capital of Peru?\n/new\n{follow_up}\n"
            )),
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 4, "{out}");
    let understood = lines[1]["understood_as"].as_str().unwrap();
    assert!(understood.contains("HIV"), "{understood}");
    let best = |line: &Value| line["passages"][0]["text"].as_str().unwrap().to_string();
    assert!(best(&lines[1]).contains("zinc-finger nucleases"), "{out}");
    assert_eq!(lines[1]["answered"], true);
    assert_eq!(lines[2]["answered"], false, "{out}");
    assert_eq!(lines[3]["understood_as"], Value::Null);
    assert!(!best(&lines[3]).contains("CCR5"), "{out}");
}

// A follow-up worded to stand alone without a definite description ("which
// receptor gets knocked out?" after HIV) is ranked with the conversation's
// words at a quarter of their weight; a new subject asked without an opening
// that finds what it finds alone says nothing of the conversation. With the
// shipped models, as the measurements were made.
#[test]
fn a_question_worded_to_stand_alone_leans_a_little_on_the_conversation() {
    let dir = workspace();
    let out = stdout_of(
        citebot_with_model(dir.path())
            .args(["chat", "--json"])
            .write_stdin(
                "could gene therapy one day cure HIV\nwhich receptor gets knocked out?\n\
         how do oncolytic viruses kill tumour cells\n",
            ),
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3, "{out}");
    let best = |line: &Value| line["passages"][0]["text"].as_str().unwrap().to_string();
    assert!(best(&lines[1]).contains("CCR5"), "{out}");
    let understood = lines[1]["understood_as"].as_str().unwrap();
    assert!(understood.contains("HIV"), "{understood}");
    assert!(best(&lines[2]).contains("oncolytic viruses"), "{out}");
    assert_eq!(lines[2]["understood_as"], Value::Null, "{out}");
}
