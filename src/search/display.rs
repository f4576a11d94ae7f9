//! What is shown of a passage: the sentence that best answers, the words that
//! matched. Worked out only for the passages that are shown.

use std::ops::Range;

use super::query::{weighted, Concept};
use super::rerank::Matches;
use crate::analysis::Analysed;
use crate::answer::Hit;
use crate::passages::with_what_it_introduces;

/// What is shown of a passage: worked out for the passages that are shown only.
pub(crate) struct Display {
    pub best_sentence: Range<usize>,
    pub highlights: Vec<Range<usize>>,
    pub matched_terms: Vec<String>,
}

impl Display {
    /// `text` is the passage's, which `analysed` was read from.
    pub fn of(text: &str, analysed: &Analysed, matches: &Matches, concepts: &[Concept]) -> Display {
        let mut highlights: Vec<Range<usize>> = Vec::new();
        let mut matched_terms: Vec<String> = Vec::new();
        for token in &analysed.tokens {
            if matches.of(token).is_empty() {
                continue;
            }
            highlights.push(token.start..token.end);
            let word = analysed.word(token);
            if !token.derived && !matched_terms.iter().any(|m| m == word) {
                matched_terms.push(word.to_string());
            }
        }
        Display {
            best_sentence: with_what_it_introduces(
                text,
                &analysed.sentences,
                best_sentence(analysed, matches, concepts),
            ),
            highlights: merge(highlights),
            matched_terms,
        }
    }
}

/// The sentence (or list line) holding the most question content; the first on a tie.
fn best_sentence(analysed: &Analysed, matches: &Matches, concepts: &[Concept]) -> Range<usize> {
    let mut best = analysed.sentences.first().cloned().unwrap_or(0..0);
    let mut best_score = -1.0f32;
    let mut per_concept = vec![0.0f32; concepts.len()];
    for sentence in &analysed.sentences {
        per_concept.fill(0.0);
        for token in &analysed.tokens {
            if token.start >= sentence.start && token.end <= sentence.end {
                for &(c, w) in matches.of(token) {
                    per_concept[c] = per_concept[c].max(w);
                }
            }
        }
        let score = weighted(concepts, &per_concept);
        if score > best_score {
            best_score = score;
            best = sentence.clone();
        }
    }
    best
}

fn merge(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<usize>> = Vec::new();
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

pub(crate) fn closest_sections(hits: &[Hit], n: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for hit in hits {
        if !out.contains(&hit.passage.citation.section) {
            out.push(hit.passage.citation.section.clone());
        }
        if out.len() == n {
            break;
        }
    }
    out
}
