//! The answer path piece by piece, on the article: analysis, search (which
//! includes re-ranking and the best sentence), sentence splitting and
//! rendering. Run with `cargo bench --bench answer_path`; a regression shows
//! as a change in the medians.

use std::path::Path;
use std::sync::OnceLock;

use citebot::analysis::{self, Analysed};
use citebot::answer::{Answer, Question, Turn};
use citebot::config::{Config, SearchConfig};
use citebot::index::{self, Index};
use citebot::render;
use citebot::search::Engine;

// The allocator the `citebot` binary runs with, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const QUESTIONS: &[&str] = &[
    "how are AAV vectors delivered?",
    "why can AAV only be injected once",
    "lentivirsu",
    "how much does Glybera cost",
    "what is Casgevy",
];

fn main() {
    divan::main();
}

/// The article indexed once into a temporary folder that lives as long as the process.
fn engine() -> &'static Engine {
    static ENGINE: OnceLock<(tempfile::TempDir, Engine)> = OnceLock::new();
    &ENGINE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("temporary folder");
            let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
            let index_dir = dir.path().join("index");
            let config = Config::default();
            let models = config.model.load_all(&mut |warning| eprintln!("{warning}"));
            index::build_with(
                &corpus,
                &index_dir,
                &config.build_options(&models),
                &mut |_| {},
            )
            .expect("index the article");
            let index = Index::open(&index_dir).expect("open the index");
            let engine = Engine::new(index, SearchConfig::default(), models.semantic)
                .with_second_opinion(models.second);
            (dir, engine)
        })
        .1
}

fn answer(question: &str) -> Answer {
    engine().ask(&Question::new(question), 3).expect("answer")
}

fn longest_passage() -> String {
    answer("how are AAV vectors delivered?").hits[0]
        .passage
        .text
        .clone()
}

#[divan::bench(args = QUESTIONS)]
fn analyse_question(question: &str) -> Vec<analysis::Token> {
    analysis::tokens(divan::black_box(question))
}

/// A passage read from the index to answer, analysed once (then cached).
#[divan::bench]
fn analyse_passage(bencher: divan::Bencher) {
    let text = longest_passage();
    bencher.bench(|| Analysed::of(divan::black_box(&text)));
}

/// What a build does with each passage: its stems for tantivy and its length.
#[divan::bench]
fn index_passage(bencher: divan::Bencher) {
    let text = longest_passage();
    bencher.bench(|| analysis::index_terms(divan::black_box(&text)));
}

#[divan::bench(args = QUESTIONS)]
fn search(question: &str) -> Answer {
    engine()
        .ask(&Question::new(divan::black_box(question)), 3)
        .expect("answer")
}

/// A follow-up asked after two turns, the conversation's words carried in
/// (issue 23: at most 20 % over `search` of a question on its own); the
/// third names its subject as known ("the drug") and is searched twice, with
/// the conversation's words and on its own for the verdict.
#[divan::bench(args = ["how much does it cost?", "and luxturna?", "which year was the drug withdrawn?"])]
fn search_follow_up(bencher: divan::Bencher, question: &str) {
    let mut earlier = Vec::new();
    for turn in ["what is glybera", "what disease does it treat?"] {
        let answer = engine()
            .ask(&Question::after(turn, earlier.clone()), 3)
            .expect("answer");
        earlier.push(Turn::of(&answer));
    }
    let question = Question::after(question, earlier);
    bencher.bench(|| {
        engine()
            .ask(divan::black_box(&question), 3)
            .expect("answer")
    });
}

/// The same follow-ups asked on their own, for comparison.
#[divan::bench(args = ["how much does it cost?", "and luxturna?", "which year was the drug withdrawn?"])]
fn search_follow_up_alone(question: &str) -> Answer {
    engine()
        .ask(&Question::new(divan::black_box(question)), 3)
        .expect("answer")
}

#[divan::bench]
fn split_sentences(bencher: divan::Bencher) {
    let text = longest_passage();
    bencher.bench(|| analysis::sentences(divan::black_box(&text)).len());
}

#[divan::bench(args = QUESTIONS)]
fn render_json(bencher: divan::Bencher, question: &str) {
    let answer = answer(question);
    bencher.bench(|| render::json_line(divan::black_box(&answer)));
}

#[divan::bench(args = QUESTIONS)]
fn render_discord(bencher: divan::Bencher, question: &str) {
    let answer = answer(question);
    bencher.bench(|| render::discord_reply(divan::black_box(&answer)));
}

/// The shipped model, loaded once.
fn model() -> &'static citebot::embed::Model {
    static MODEL: OnceLock<citebot::embed::Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        citebot::embed::Model::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2"),
        )
        .expect("the shipped model")
    })
}

/// One question encoded alone, as `citebot ask` does.
#[divan::bench]
fn encode_question(bencher: divan::Bencher) {
    bencher.bench(|| model().encode(divan::black_box(QUESTIONS[0])));
}

/// `n` questions encoded in one pass, as batch mode does; divided by `n`
/// this is the cost of a question there.
#[divan::bench(args = [4, 16, 32])]
fn encode_questions_together(bencher: divan::Bencher, n: usize) {
    let texts: Vec<&str> = QUESTIONS.iter().copied().cycle().take(n).collect();
    bencher.bench(|| model().encode_batch(divan::black_box(&texts)));
}
