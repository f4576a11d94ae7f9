//! Answer quality on the development questions, measured by running the real
//! search; the floors are the figures measured when they were last raised.
//! The answered and abstained floors of the question sets were measured again
//! (2026-12-06) when the verdict took a second model's opinion: the
//! first-run figures quoted below are those runs' own, the floors today's;
//! again (2026-12-07) when the threshold went from 0.71 to 0.66.

use citebot::eval;

use citebot::search::Engine;

use crate::util::{article, copy_dir, engine_over, repo_file};

/// The figures of a question file, on an index of the repository's corpus.
fn measure(questions: &str, count: usize) -> eval::Report {
    measure_on(article().engine(), questions, count)
}

fn measure_on(engine: &Engine, questions: &str, count: usize) -> eval::Report {
    let questions =
        eval::load(&repo_file(questions)).unwrap_or_else(|e| panic!("{questions} is needed: {e}"));
    assert_eq!(questions.len(), count);
    let report = eval::run(engine, &questions, 10).expect("eval");
    println!("{}", report.table(true));
    report
}

/// The floors a question file's figures must reach.
struct Floors {
    hit_at_1: f64,
    hit_at_3: f64,
    mrr_at_10: f64,
    answered: f64,
    abstained: f64,
}

/// Measures `questions` and checks every figure against its floor.
fn holds(questions: &str, count: usize, floors: Floors) {
    check(&measure(questions, count), floors);
}

/// Measures the questions of another document, `tests/eval/<folder>`, on
/// its own corpus.
fn outside_holds(folder: &str, count: usize, floors: Floors) {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(
        &repo_file(&format!("tests/eval/{folder}/corpus")),
        &dir.path().join("corpus"),
    );
    outside_holds_in(&dir, folder, count, floors);
}

fn outside_holds_in(dir: &tempfile::TempDir, folder: &str, count: usize, floors: Floors) {
    let engine = engine_over(&dir.path().join("corpus"), &dir.path().join("index"));
    let questions = format!("tests/eval/{folder}/questions.jsonl");
    check(&measure_on(&engine, &questions, count), floors);
}

fn check(report: &eval::Report, floors: Floors) {
    let all = &report.overall;
    let figures = [
        ("Hit@1", all.hit_at_1(), floors.hit_at_1),
        ("Hit@3", all.hit_at_3(), floors.hit_at_3),
        ("MRR@10", all.mrr_at_10(), floors.mrr_at_10),
        ("answered", all.answered_rate(), floors.answered),
        ("abstained", all.abstained_rate(), floors.abstained),
    ];
    for (name, figure, floor) in figures {
        assert!(
            figure >= floor,
            "{name} {figure:.3} below its floor {floor}"
        );
    }
}

#[test]
fn dev_questions_stay_at_or_above_the_measured_floor() {
    holds(
        "../shared/eval/dev-questions.jsonl",
        100,
        Floors {
            hit_at_1: 0.75,
            hit_at_3: 0.92,
            mrr_at_10: 0.84,
            answered: 0.98,
            abstained: 0.63,
        },
    );
}

/// Questions no rule was tuned on (`tests/eval/README.md`).
#[test]
fn second_questions_stay_at_or_above_the_measured_floor() {
    holds(
        "tests/eval/second-questions.jsonl",
        81,
        Floors {
            hit_at_1: 0.89,
            hit_at_3: 0.96,
            mrr_at_10: 0.92,
            answered: 0.98,
            abstained: 0.66,
        },
    );
}

/// A third set, written after the ranking rules were settled; two rules came
/// after its first run (`tests/eval/README.md`).
#[test]
fn third_questions_stay_at_or_above_the_measured_floor() {
    holds(
        "tests/eval/third-questions.jsonl",
        78,
        Floors {
            hit_at_1: 0.93,
            hit_at_3: 1.0,
            mrr_at_10: 0.97,
            answered: 0.98,
            abstained: 0.9,
        },
    );
}

/// A fourth set, heavy on lay paraphrases (`tests/eval/README.md`); held out
/// when the semantic stage's weights and threshold were fitted.
#[test]
fn fourth_questions_stay_at_or_above_the_measured_floor() {
    holds(
        "tests/eval/fourth-questions.jsonl",
        61,
        Floors {
            hit_at_1: 0.87,
            hit_at_3: 0.95,
            mrr_at_10: 0.92,
            answered: 0.95,
            abstained: 0.84,
        },
    );
}

/// The fifth set, frozen before the semantic stage first ran on it (first
/// run: 0.708 / 0.875 / 0.810, answered 0.917); since 2026-12-05 a fitting set
/// of the ranking weights and the verdict.
#[test]
fn fifth_questions_stay_at_or_above_the_measured_floor() {
    holds(
        "tests/eval/fifth-questions.jsonl",
        62,
        Floors {
            hit_at_1: 0.74,
            hit_at_3: 0.95,
            mrr_at_10: 0.85,
            answered: 1.0,
            abstained: 0.92,
        },
    );
}

/// Another document: SQuAD's Normans article, its own corpus (a fitting set).
#[test]
fn normans_questions_stay_at_or_above_the_measured_floor() {
    outside_holds(
        "outside/normans",
        208,
        Floors {
            hit_at_1: 0.90,
            hit_at_3: 0.98,
            mrr_at_10: 0.94,
            answered: 0.97,
            abstained: 0.07,
        },
    );
}

/// The Normans article as a PDF made from its Markdown (`tests/formats/README.md`):
/// what reading a PDF costs the answers (Markdown: 0.906 / 0.990 / 0.949).
#[test]
fn normans_as_a_pdf_stays_at_or_above_the_measured_floor() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("corpus")).expect("corpus folder");
    std::fs::copy(
        repo_file("tests/formats/normans.pdf"),
        dir.path().join("corpus/normans.pdf"),
    )
    .expect("copy the PDF");
    outside_holds_in(
        &dir,
        "outside/normans",
        208,
        Floors {
            hit_at_1: 0.86,
            hit_at_3: 0.95,
            mrr_at_10: 0.91,
            answered: 0.97,
            abstained: 0.07,
        },
    );
}

/// Another document: SQuAD's Sky (United Kingdom) article (held out).
#[test]
fn sky_questions_stay_at_or_above_the_measured_floor() {
    outside_holds(
        "outside/sky",
        210,
        Floors {
            hit_at_1: 0.98,
            hit_at_3: 1.0,
            mrr_at_10: 0.98,
            answered: 0.98,
            abstained: 0.04,
        },
    );
}

/// Another document of another kind: Python's Socket Programming HOWTO (the
/// HTML page), its questions frozen before its first run (2026-12-06): Hit@1
/// 0.688, Hit@3 0.896, MRR@10 0.798, answered 0.833, 10 of 12 unanswerable
/// declined; BM25 over the same passages 0.562 / 0.771. With the page's
/// abstract read (an `<aside>` in its main content), run second: 0.708 /
/// 0.917 / 0.816, answered and declined the same; with code keeping its
/// lines, answered 0.875.
#[test]
fn python_sockets_questions_stay_at_or_above_the_measured_floor() {
    outside_holds(
        "other/python-sockets",
        60,
        Floors {
            hit_at_1: 0.70,
            hit_at_3: 0.91,
            mrr_at_10: 0.81,
            answered: 0.95,
            abstained: 0.5,
        },
    );
}

/// A fourth document: Python's Unicode HOWTO (the HTML page), its questions
/// frozen before its first run (2026-12-06): Hit@1 0.691, Hit@3 0.891, MRR@10
/// 0.793, answered 0.982, 7 of 12 unanswerable declined; BM25 over the same
/// passages 0.509 / 0.709.
#[test]
fn python_unicode_questions_stay_at_or_above_the_measured_floor() {
    outside_holds(
        "other/python-unicode",
        67,
        Floors {
            hit_at_1: 0.69,
            hit_at_3: 0.89,
            mrr_at_10: 0.79,
            answered: 0.98,
            abstained: 0.5,
        },
    );
}

/// The sixth set, frozen before its first run (2026-12-05: Hit@1 0.830,
/// Hit@3 0.936, MRR@10 0.888, answered 0.830, abstained 0.917); since then a
/// fitting set of the ranking weights and the verdict.
#[test]
fn sixth_questions_stay_at_or_above_the_measured_floor() {
    holds(
        "tests/eval/sixth-questions.jsonl",
        59,
        Floors {
            hit_at_1: 0.85,
            hit_at_3: 0.93,
            mrr_at_10: 0.89,
            answered: 1.0,
            abstained: 0.75,
        },
    );
}

/// The seventh set, frozen before its first run (2026-12-05), on the weights
/// and verdict fitted on the six sets before it; the floors are that first
/// run's figures: Hit@1 0.821, Hit@3 0.964, MRR@10 0.888, answered 0.929,
/// abstained 0.786.
#[test]
fn seventh_questions_stay_at_or_above_the_measured_floor() {
    holds(
        "tests/eval/seventh-questions.jsonl",
        70,
        Floors {
            hit_at_1: 0.82,
            hit_at_3: 0.96,
            mrr_at_10: 0.88,
            answered: 0.96,
            abstained: 0.57,
        },
    );
}

/// The eighth set, frozen before its first run (2026-12-05), with nothing in
/// the ranking or the verdict changed since the seventh set's; the floors
/// are that first run's figures: Hit@1 0.875, Hit@3 0.964, MRR@10 0.917,
/// answered 0.929, abstained 0.643.
#[test]
fn eighth_questions_stay_at_or_above_the_measured_floor() {
    holds(
        "tests/eval/eighth-questions.jsonl",
        70,
        Floors {
            hit_at_1: 0.87,
            hit_at_3: 0.96,
            mrr_at_10: 0.91,
            answered: 0.98,
            abstained: 0.64,
        },
    );
}

/// The ninth set, frozen before its first run (2026-12-06), with nothing in
/// the ranking or the verdict changed since the seventh set's; the floors
/// are that first run's figures: Hit@1 0.800, Hit@3 0.933, MRR@10 0.871,
/// answered 0.900, abstained 0.857.
#[test]
fn ninth_questions_stay_at_or_above_the_measured_floor() {
    holds(
        "tests/eval/ninth-questions.jsonl",
        74,
        Floors {
            hit_at_1: 0.80,
            hit_at_3: 0.93,
            mrr_at_10: 0.87,
            answered: 0.96,
            abstained: 0.71,
        },
    );
}

/// The tenth set, frozen before its first run (2026-12-06), the ranking and
/// the verdict as for the ninth but for the contraction stop words; the
/// floors are that first run's figures: Hit@1 0.783, Hit@3 0.900, MRR@10
/// 0.857, answered 0.950, abstained 0.500.
#[test]
fn tenth_questions_stay_at_or_above_the_measured_floor() {
    holds(
        "tests/eval/tenth-questions.jsonl",
        74,
        Floors {
            hit_at_1: 0.78,
            hit_at_3: 0.90,
            mrr_at_10: 0.85,
            answered: 1.0,
            abstained: 0.57,
        },
    );
}

/// The eleventh set, frozen before its first run (2026-12-06), nothing in the
/// ranking or the verdict changed since the tenth's; the floors are that
/// first run's figures: Hit@1 0.851, Hit@3 0.940, MRR@10 0.900, answered
/// 0.925, abstained 0.500.
#[test]
fn eleventh_questions_stay_at_or_above_the_measured_floor() {
    holds(
        "tests/eval/eleventh-questions.jsonl",
        81,
        Floors {
            hit_at_1: 0.85,
            hit_at_3: 0.94,
            mrr_at_10: 0.90,
            answered: 1.0,
            abstained: 0.42,
        },
    );
}

/// The twelfth set, frozen before its first run (2026-12-06), the first
/// with the verdict's second opinion (fitted on the ten sets before the
/// eleventh). Its first run: Hit@1 0.786, Hit@3 0.943, MRR@10 0.864,
/// answered 0.929, abstained 0.571; the threshold was then chosen on it and
/// the thirteenth.
#[test]
fn twelfth_questions_stay_at_or_above_the_measured_floor() {
    holds(
        "tests/eval/twelfth-questions.jsonl",
        84,
        Floors {
            hit_at_1: 0.78,
            hit_at_3: 0.94,
            mrr_at_10: 0.86,
            answered: 0.95,
            abstained: 0.57,
        },
    );
}

/// The thirteenth set (2026-12-07), frozen before its first run, nothing
/// tested on it: the second estimate of the verdict with the second opinion.
/// Its first run: Hit@1 0.800, Hit@3 0.971, MRR@10 0.885, answered 0.900,
/// abstained 0.786; the threshold was then chosen on it and the twelfth.
#[test]
fn thirteenth_questions_stay_at_or_above_the_measured_floor() {
    holds(
        "tests/eval/thirteenth-questions.jsonl",
        84,
        Floors {
            hit_at_1: 0.79,
            hit_at_3: 0.97,
            mrr_at_10: 0.88,
            answered: 0.95,
            abstained: 0.78,
        },
    );
}

/// The fourteenth set (2026-12-07), frozen before its first run, which was
/// made with the threshold it was written to estimate (0.66, chosen on the
/// twelfth and thirteenth sets): Hit@1 0.826, Hit@3 0.907, MRR@10 0.876,
/// answered 0.953 (82 of 86), off-topic declined 7 of 7, near-topic 2 of 7.
#[test]
fn fourteenth_questions_stay_at_or_above_the_measured_floor() {
    holds(
        "tests/eval/fourteenth-questions.jsonl",
        100,
        Floors {
            hit_at_1: 0.82,
            hit_at_3: 0.9,
            mrr_at_10: 0.87,
            answered: 0.95,
            abstained: 0.64,
        },
    );
}

/// The fifteenth set (2026-12-07), frozen before its first run, nothing
/// changed since the fourteenth's: a second estimate of the threshold at
/// 0.66. Its first run, the floors: Hit@1 0.841, Hit@3 0.943, MRR@10 0.898,
/// answered 0.977 (86 of 88), off-topic declined 7 of 7, near-topic 1 of 7.
#[test]
fn fifteenth_questions_stay_at_or_above_the_measured_floor() {
    holds(
        "tests/eval/fifteenth-questions.jsonl",
        102,
        Floors {
            hit_at_1: 0.84,
            hit_at_3: 0.94,
            mrr_at_10: 0.89,
            answered: 0.97,
            abstained: 0.57,
        },
    );
}

/// Floors of a conversation set: its follow-ups' Hit@1 and answered share,
/// at most `gap` behind their standalone wording and at least `added` ahead
/// of themselves asked alone, and the share of unanswerable turns declined.
struct Conversations {
    hit_at_1: f64,
    answered: f64,
    gap: f64,
    added: f64,
    declined: f64,
}

/// Measures a conversation file on the article against its floors.
fn conversations_hold(file: &str, count: usize, floors: Conversations) {
    let Conversations {
        hit_at_1,
        answered,
        gap,
        added,
        declined,
    } = floors;
    let conversations = eval::conversations::load(&repo_file(file)).expect("conversations");
    assert_eq!(conversations.len(), count);
    let report = eval::conversations::run(article().engine(), &conversations, 10).expect("eval");
    println!("{}", report.table(true));
    let followups = &report.followups;
    assert!(
        followups.hit_at_1() >= hit_at_1,
        "follow-ups Hit@1 {:.3}",
        followups.hit_at_1()
    );
    assert!(
        followups.answered_rate() >= answered,
        "answered {:.3}",
        followups.answered_rate()
    );
    let behind = report.followups_standalone.hit_at_1() - followups.hit_at_1();
    assert!(
        behind <= gap,
        "follow-ups {behind:.3} behind their standalone wording"
    );
    assert!(
        followups.hit_at_1() >= report.followups_alone.hit_at_1() + added,
        "the conversation adds too little over the follow-ups asked alone"
    );
    assert!(
        report.unanswerable.abstained_rate() >= declined,
        "unanswerable turns declined {:.3}",
        report.unanswerable.abstained_rate()
    );
}

// Measured 2026-12-05: follow-ups 0.831 (alone 0.458, standalone 0.780), answered 0.932;
// 0.983 with the follow-ups' own verdict threshold.
#[test]
fn conversations_fit_stay_at_or_above_the_measured_floor() {
    conversations_hold(
        "tests/eval/conversations-fit.jsonl",
        32,
        Conversations {
            hit_at_1: 0.82,
            answered: 0.98,
            gap: 0.0,
            added: 0.2,
            declined: 1.0,
        },
    );
}

// Measured 2026-12-05, first run: follow-ups 0.810 (alone 0.476, standalone
// 0.952: 0.142 behind, the 0.10 not met), answered 0.952; after the
// verdict's refit, answered 1.000.
#[test]
fn conversations_held_out_stay_at_or_above_the_measured_floor() {
    conversations_hold(
        "tests/eval/conversations-held-out.jsonl",
        14,
        Conversations {
            hit_at_1: 0.80,
            answered: 0.95,
            gap: 0.15,
            added: 0.2,
            declined: 1.0,
        },
    );
}

// The third set (2026-12-05). Its first run measured a follow-up's embedding
// blended from its own and the last turn's: 0.708 (standalone 0.854), answered
// 0.917, one unanswerable turn answered. The mechanism kept (the follow-up
// encoded with its carried words) was run second: 0.729 (alone 0.417,
// standalone 0.854: 0.125 behind), answered 0.938; 0.958 with the follow-ups'
// own verdict threshold.
#[test]
fn conversations_third_stay_at_or_above_the_measured_floor() {
    conversations_hold(
        "tests/eval/conversations-third.jsonl",
        26,
        Conversations {
            hit_at_1: 0.72,
            answered: 0.95,
            gap: 0.13,
            added: 0.2,
            declined: 1.0,
        },
    );
}

// The fourth set (2026-12-05), frozen before its first run: follow-ups 0.734
// (alone 0.391, standalone 0.875: 0.141 behind), answered 0.828, 3 of 4
// unanswerable turns declined. The follow-ups' own verdict threshold was
// fitted on it and the three sets before: answered 0.922, 2 of 4 declined.
#[test]
fn conversations_fourth_stay_at_or_above_the_measured_floor() {
    conversations_hold(
        "tests/eval/conversations-fourth.jsonl",
        34,
        Conversations {
            hit_at_1: 0.73,
            answered: 0.90,
            gap: 0.15,
            added: 0.2,
            declined: 0.25,
        },
    );
}

// The fifth set (2026-12-05), frozen before its first run, which measured the
// follow-ups' own verdict threshold (with carried words grounded in the
// answering passage, not kept): follow-ups 0.714 (alone 0.446, standalone
// 0.821: 0.107 behind), answered 0.946, 5 of 7 unanswerable turns declined.
// The threshold alone, run after: the same.
#[test]
fn conversations_fifth_stay_at_or_above_the_measured_floor() {
    conversations_hold(
        "tests/eval/conversations-fifth.jsonl",
        32,
        Conversations {
            hit_at_1: 0.71,
            answered: 0.94,
            gap: 0.11,
            added: 0.2,
            declined: 0.71,
        },
    );
}

// The sixth set (2026-12-06), frozen before its first run, nothing changed
// since the fifth: follow-ups 0.750 (alone 0.444, standalone 0.903: 0.153
// behind, the 0.10 not met), answered 0.972, 2 of 6 unanswerable
// turns declined.
#[test]
fn conversations_sixth_stay_at_or_above_the_measured_floor() {
    conversations_hold(
        "tests/eval/conversations-sixth.jsonl",
        33,
        Conversations {
            hit_at_1: 0.75,
            answered: 0.97,
            gap: 0.16,
            added: 0.2,
            declined: 0.33,
        },
    );
}

// The seventh set (2026-12-06), frozen before its first run, which measured
// not carrying an earlier question's words that most passages hold (not kept):
// follow-ups 0.632, answered 0.882. The pipeline as it stands, run second:
// follow-ups 0.645 (alone 0.289, standalone 0.842: 0.197 behind, the issue's
// 0.10 not met), answered 0.895, 3 of 6 unanswerable turns declined.
#[test]
fn conversations_seventh_stay_at_or_above_the_measured_floor() {
    conversations_hold(
        "tests/eval/conversations-seventh.jsonl",
        32,
        Conversations {
            hit_at_1: 0.63,
            answered: 0.89,
            gap: 0.22,
            added: 0.2,
            declined: 0.5,
        },
    );
}

// The eighth set (2026-12-06), frozen before its first run, which measured a
// follow-up encoded after its carried words, encoded between turns (not
// kept): follow-ups 0.574, answered 0.794, 5 of 6 unanswerable turns
// declined. The pipeline as it stood, run second: 0.559 (alone 0.324,
// standalone 0.838), answered 0.809, 5 of 6 declined. With contracted
// pronouns read as pronouns (a fix found in its misses): 0.574 (0.265
// behind the standalone wording, the 0.10 not met), answered 0.824.
#[test]
fn conversations_eighth_stay_at_or_above_the_measured_floor() {
    conversations_hold(
        "tests/eval/conversations-eighth.jsonl",
        30,
        Conversations {
            hit_at_1: 0.57,
            answered: 0.82,
            gap: 0.27,
            added: 0.2,
            declined: 0.83,
        },
    );
}

// The ninth set (2026-12-06), frozen before its first run, which measured the
// carried words ranked by weight times rarity (not kept): follow-ups 0.702,
// answered 0.851, 3 of 4 unanswerable turns declined. The pipeline as it
// stood, run second: 0.702 (alone 0.468, standalone 0.915), answered 0.872.
// With contracted pronouns read as pronouns: 0.681 (0.234 behind), answered
// 0.872, 3 of 4 declined.
#[test]
fn conversations_ninth_stay_at_or_above_the_measured_floor() {
    conversations_hold(
        "tests/eval/conversations-ninth.jsonl",
        22,
        Conversations {
            hit_at_1: 0.68,
            answered: 0.85,
            gap: 0.24,
            added: 0.2,
            declined: 0.75,
        },
    );
}

// The tenth set (2026-12-06), frozen before its first run, which measured a
// follow-up worded as if it stood alone ranked with the conversation's words
// too (not kept: follow-ups 0.830, but a switch and an unanswerable turn
// fewer). The pipeline, run second: follow-ups 0.623 (alone 0.491,
// standalone 0.887: 0.264 behind), answered 0.774, 5 of 5 declined.
#[test]
fn conversations_tenth_stay_at_or_above_the_measured_floor() {
    conversations_hold(
        "tests/eval/conversations-tenth.jsonl",
        25,
        Conversations {
            hit_at_1: 0.62,
            answered: 0.77,
            gap: 0.27,
            added: 0.13,
            declined: 1.0,
        },
    );
}

// The eleventh set (2026-12-06), frozen before its first run, which measured
// the tenth's change revised (not kept: follow-ups 0.857, but two new subjects
// asked without an opening pulled back to the old one). The pipeline, run
// second: follow-ups 0.735 (alone 0.551, standalone 0.857: 0.122 behind),
// answered 0.939, 5 of 6 declined.
#[test]
fn conversations_eleventh_stay_at_or_above_the_measured_floor() {
    conversations_hold(
        "tests/eval/conversations-eleventh.jsonl",
        25,
        Conversations {
            hit_at_1: 0.73,
            answered: 0.93,
            gap: 0.13,
            added: 0.18,
            declined: 0.66,
        },
    );
}

// The twelfth set (2026-12-06), frozen before its first run and run first on
// the pipeline as it stood, nothing tested on it: follow-ups 0.630 (alone
// 0.457, standalone 0.826: 0.196 behind), answered 0.870, 1 of 5 unanswerable
// turns declined.
#[test]
fn conversations_twelfth_stay_at_or_above_the_measured_floor() {
    conversations_hold(
        "tests/eval/conversations-twelfth.jsonl",
        25,
        Conversations {
            hit_at_1: 0.63,
            answered: 0.84,
            gap: 0.20,
            added: 0.17,
            declined: 0.2,
        },
    );
}

// Measured 2026-12-06, first run, with the definite-description change it
// was written to test (kept): follow-ups 0.667 (alone 0.347, standalone
// 0.917: 0.250 behind), answered 0.889, unanswerable turns declined 3 of 5.
#[test]
fn conversations_thirteenth_stay_at_or_above_the_measured_floor() {
    conversations_hold(
        "tests/eval/conversations-thirteenth.jsonl",
        29,
        Conversations {
            hit_at_1: 0.66,
            answered: 0.87,
            gap: 0.26,
            added: 0.3,
            declined: 0.6,
        },
    );
}

// The fourteenth set (2026-12-06), frozen before its first run; the pipeline
// as it stands, run second after the candidate it was written to test (not
// kept): follow-ups 0.691 (alone 0.420, standalone 0.815: 0.124 behind),
// answered 0.790, unanswerable turns declined 5 of 8.
#[test]
fn conversations_fourteenth_stay_at_or_above_the_measured_floor() {
    conversations_hold(
        "tests/eval/conversations-fourteenth.jsonl",
        30,
        Conversations {
            hit_at_1: 0.67,
            answered: 0.79,
            gap: 0.14,
            added: 0.25,
            declined: 0.62,
        },
    );
}

// The fifteenth set (2026-12-07), frozen before its first run, run first with
// the change it was written to test (kept: a question worded to stand alone
// ranked with the conversation's words at a quarter of their weight):
// follow-ups 0.656 (alone 0.522, standalone 0.767: 0.111 behind), answered
// 0.811, unanswerable turns declined 6 of 9.
#[test]
fn conversations_fifteenth_stay_at_or_above_the_measured_floor() {
    conversations_hold(
        "tests/eval/conversations-fifteenth.jsonl",
        30,
        Conversations {
            hit_at_1: 0.65,
            answered: 0.8,
            gap: 0.12,
            added: 0.13,
            declined: 0.55,
        },
    );
}

// The sixteenth set (2026-12-07), frozen before its first run, no candidate:
// the pipeline as it stands, follow-ups 0.529 (alone 0.276, standalone 0.736:
// 0.207 behind), answered 0.736, unanswerable turns declined 4 of 9. Since
// "ok" and "everyone" are no longer carried, answered 0.724: a follow-up
// whose passage is not among the ten shown is declined.
#[test]
fn conversations_sixteenth_stay_at_or_above_the_measured_floor() {
    conversations_hold(
        "tests/eval/conversations-sixteenth.jsonl",
        30,
        Conversations {
            hit_at_1: 0.52,
            answered: 0.72,
            gap: 0.21,
            added: 0.25,
            declined: 0.44,
        },
    );
}
