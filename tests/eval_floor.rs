//! Answer quality on the development questions, measured by running the real
//! search; the floors are the figures measured when they were last raised.

mod common;

use citebot::config::SearchConfig;
use citebot::eval;
use citebot::index::{self, Index};
use citebot::search::Engine;

/// The figures of a question file, on an index of the repository's corpus.
fn measure(questions: &str, count: usize) -> eval::Report {
    let dir = common::workspace();
    let (corpus, index_dir) = (dir.path().join("corpus"), dir.path().join("index"));
    index::build(&corpus, &index_dir).expect("build");
    let engine = Engine::new(
        Index::open(&index_dir).expect("open"),
        SearchConfig::default(),
    );
    let questions = eval::load(&common::repo_file(questions))
        .unwrap_or_else(|e| panic!("{questions} is needed: {e}"));
    assert_eq!(questions.len(), count);
    let report = eval::run(&engine, &questions, 10).expect("eval");
    println!("{}", report.table(true));
    report
}

#[test]
fn dev_questions_stay_at_or_above_the_measured_floor() {
    let report = measure("../shared/eval/dev-questions.jsonl", 100);
    let all = &report.overall;

    assert!(all.hit_at_1() >= 0.76, "Hit@1 {:.3}", all.hit_at_1());
    assert!(all.hit_at_3() >= 0.97, "Hit@3 {:.3}", all.hit_at_3());
    assert!(all.mrr_at_10() >= 0.86, "MRR@10 {:.3}", all.mrr_at_10());
    assert!(
        all.answered_rate() >= 0.98,
        "answered {:.3}",
        all.answered_rate()
    );
    assert!(
        all.abstained_rate() >= 0.90,
        "abstained {:.3}",
        all.abstained_rate()
    );
}

/// Questions no rule was tuned on (`tests/eval/README.md`).
#[test]
fn second_questions_stay_at_or_above_the_measured_floor() {
    let report = measure("tests/eval/second-questions.jsonl", 81);
    let all = &report.overall;
    assert!(all.hit_at_1() >= 0.78, "Hit@1 {:.3}", all.hit_at_1());
    assert!(all.hit_at_3() >= 0.92, "Hit@3 {:.3}", all.hit_at_3());
    assert!(all.mrr_at_10() >= 0.85, "MRR@10 {:.3}", all.mrr_at_10());
    assert!(
        all.answered_rate() >= 0.95,
        "answered {:.3}",
        all.answered_rate()
    );
    assert!(
        all.abstained_rate() >= 1.0,
        "abstained {:.3}",
        all.abstained_rate()
    );
}
