//! An answer as one JSON object: the same shape for every line `ask --json`
//! writes, errors in batch mode included.

use serde::Serialize;

use crate::answer::Answer;
use crate::passages::Citation;

#[derive(Serialize)]
pub struct JsonAnswer<'a> {
    pub question: &'a str,
    pub answered: bool,
    pub verdict: &'static str,
    /// Why a batch line could not be asked (verdict `error`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<&'a str>,
    /// A follow-up read with its conversation's subject carried over: the
    /// question as understood; null for a question read on its own.
    pub understood_as: Option<&'a str>,
    pub hints: &'a [String],
    /// Share of the question's content words the corpus knows (rarity-weighted).
    pub known_share: f32,
    /// The verdict's score, compared with `[search] min_confidence`.
    pub confidence: f32,
    pub passages: Vec<JsonPassage<'a>>,
}

#[derive(Serialize)]
pub struct JsonPassage<'a> {
    pub rank: usize,
    pub score: f32,
    pub text: &'a str,
    pub best_sentence: &'a str,
    pub matched_terms: &'a [String],
    /// Share of the question's content words (rarity-weighted) in this passage.
    pub coverage: f32,
    /// The model's cosine of its best sentence (or itself) with the question; none without a model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f32>,
    pub citation: &'a Citation,
}

pub fn json(answer: &Answer) -> JsonAnswer<'_> {
    let passages = if answer.answered() {
        answer
            .hits
            .iter()
            .map(|hit| JsonPassage {
                rank: hit.rank,
                score: round3(hit.score),
                text: &hit.passage.text,
                best_sentence: hit.best_sentence_text(),
                matched_terms: &hit.matched_terms,
                coverage: round3(hit.coverage),
                similarity: hit.evidence.sentence_similarity.map(round3),
                citation: &hit.passage.citation,
            })
            .collect()
    } else {
        Vec::new()
    };
    JsonAnswer {
        question: &answer.question,
        answered: answer.answered(),
        verdict: answer.verdict.as_str(),
        error: None,
        notice: answer.notice.as_deref(),
        understood_as: answer.understood_as.as_deref(),
        hints: if answer.answered() {
            &[]
        } else {
            &answer.hints
        },
        known_share: round3(answer.known_share),
        confidence: round3(answer.confidence),
        passages,
    }
}

fn round3(x: f32) -> f32 {
    (x * 1000.0).round() / 1000.0
}

pub fn json_line(answer: &Answer) -> String {
    serde_json::to_string(&json(answer)).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// The line for a batch question that could not be asked (empty, not UTF-8):
/// the shape of an answer, with verdict `error` and the reason.
pub fn error_line(question: &str, problem: &str) -> String {
    let line = JsonAnswer {
        question,
        answered: false,
        verdict: "error",
        error: Some(problem),
        notice: None,
        understood_as: None,
        hints: &[],
        known_share: 0.0,
        confidence: 0.0,
        passages: Vec::new(),
    };
    serde_json::to_string(&line).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
