//! What is shown of a passage: the sentence that best answers, the words that
//! matched. Worked out only for the passages that are shown.

use std::ops::Range;

use super::query::{weighted, Concept};
use super::rerank::Matches;
use crate::analysis::Analysed;
use crate::answer::Hit;
use crate::passages::LIST_MARK;

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

/// Words a lead-in and the lines it introduces may run to, the first of
/// them always taken.
const LEAD_IN_WORDS: usize = 60;

/// `best`, and when it is a lead-in ("Viral vectors are:") the line after it
/// and the list lines that follow that, as many as [`LEAD_IN_WORDS`] allow:
/// shown alone, a lead-in promises an answer and gives none.
fn with_what_it_introduces(
    text: &str,
    sentences: &[Range<usize>],
    best: Range<usize>,
) -> Range<usize> {
    let words = |range: &Range<usize>| {
        text.get(range.clone())
            .map_or(0, |s| s.split_whitespace().count())
    };
    if !text
        .get(best.clone())
        .is_some_and(|s| s.trim_end().ends_with(':'))
    {
        return best;
    }
    let mut shown = best.clone();
    let mut count = words(&best);
    for (i, next) in sentences.iter().filter(|s| s.start >= best.end).enumerate() {
        let listed = text
            .get(next.clone())
            .is_some_and(|s| s.starts_with(LIST_MARK));
        if i > 0 && (!listed || count + words(next) > LEAD_IN_WORDS) {
            break;
        }
        count += words(next);
        shown.end = next.end;
    }
    shown
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sentences(text: &str) -> Vec<Range<usize>> {
        Analysed::of(text).sentences
    }

    #[test]
    fn a_lead_in_is_shown_with_the_list_it_introduces() {
        let text = "Viral vectors are:\n• integrative: inserted into the host DNA,\n• non-integrative: kept apart.\nAll are engineered.";
        let all = sentences(text);
        let shown = with_what_it_introduces(text, &all, all[0].clone());
        assert_eq!(
            &text[shown],
            "Viral vectors are:\n• integrative: inserted into the host DNA,\n• non-integrative: kept apart."
        );
    }

    #[test]
    fn a_long_list_is_cut_after_its_first_line_and_a_plain_sentence_stays_alone() {
        let item = format!("• {}.", vec!["word"; 50].join(" "));
        let text = format!("Two kinds:\n{item}\n{item}");
        let all = sentences(&text);
        let shown = with_what_it_introduces(&text, &all, all[0].clone());
        assert_eq!(&text[shown], format!("Two kinds:\n{item}"));
        let plain = "A sentence. Another one.";
        let all = sentences(plain);
        assert_eq!(with_what_it_introduces(plain, &all, all[0].clone()), all[0]);
    }
}
