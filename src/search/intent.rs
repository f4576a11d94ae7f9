//! What kind of answer a question asks for ("why" wants a cause, "how long" a
//! duration, "who" someone), and whether a passage holds that kind of thing.
//! Two passages that share a question's words equally are told apart by it:
//! for "why did X happen", the one giving a cause beats the one naming X.

use std::sync::OnceLock;

use crate::analysis::{self, Analysed, Token};
use crate::FastMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Cause,
    Duration,
    Date,
    Quantity,
    Agent,
    Place,
    /// Several things of a kind: "which diseases", "what are some vectors".
    Kinds,
}

/// The kind of answer `tokens` (a question's) asks for, if it says.
pub fn of_question(tokens: &[Token]) -> Option<Intent> {
    let words = analysis::plain_words(tokens);
    let pair = |a: &str, b: &[&str]| words.windows(2).any(|w| w[0] == a && b.contains(&w[1]));
    // "when", "who" and "where" also join clauses ("dies when", "patients who"):
    // they ask only at the head of the question.
    let first = words.first().copied().unwrap_or_default();
    if words.contains(&"why") || pair("how", &["come"]) || pair("what", &["causes", "caused"]) {
        Some(Intent::Cause)
    } else if pair("how", &["long"]) {
        Some(Intent::Duration)
    } else if first == "when" || pair("what", &["year", "date"]) {
        Some(Intent::Date)
    } else if pair("how", &["many"]) || pair("what", &["percentage", "proportion", "number"]) {
        Some(Intent::Quantity)
    } else if matches!(first, "who" | "whom") || pair("by", &["whom"]) {
        Some(Intent::Agent)
    } else if first == "where"
        || pair("which", &["countries", "country", "parts", "regions"])
        || pair("what", &["countries", "country", "parts", "regions"])
    {
        Some(Intent::Place)
    } else if asks_for_kinds(&words) {
        Some(Intent::Kinds)
    } else {
        None
    }
}

/// "which (medical) fields", "in which diseases", "what diseases", "what are some
/// vectors", "what kinds of cells": a plural noun right after the question word.
fn asks_for_kinds(words: &[&str]) -> bool {
    let words = match words {
        ["in" | "for" | "of" | "on" | "from" | "with", rest @ ..] => rest,
        _ => words,
    };
    let rest = match words {
        ["which", rest @ ..] => rest,
        ["what", "are" | "were", "some", rest @ ..] => rest,
        ["what", "kinds" | "types" | "sorts", "of", rest @ ..] => return !rest.is_empty(),
        ["what", rest @ ..] => rest,
        _ => return false,
    };
    // An adjective may come first ("which medical fields"); a verb may not:
    // "what are vectors" asks what they are.
    !rest.first().is_some_and(|w| analysis::is_stop_word(w))
        && rest.iter().take(2).any(|w| is_plural(w))
}

fn is_plural(word: &str) -> bool {
    word.len() >= 4
        && word.ends_with('s')
        && !["ss", "us", "is"].iter().any(|end| word.ends_with(end))
        && !analysis::is_stop_word(word)
}

// Words (folded, not stemmed: "response" is no cause though it stems like
// "responsible") that show an answer of each kind.
#[rustfmt::skip]
const CAUSE: &[&str] = &[
    "because", "due", "cause", "causes", "caused", "causing", "responsible", "reason", "reasons",
    "owing", "consequence", "consequences", "trigger", "triggers", "triggered", "explains",
    "explained", "explanation",
];
#[rustfmt::skip]
const DURATION: &[&str] = &[
    "lifespan", "lifetime", "permanent", "permanently", "durable", "durably", "persist",
    "persists", "persistent", "persistence", "longterm", "lasting", "lasts", "sustained",
];
#[rustfmt::skip]
const TIME_UNITS: &[&str] = &[
    "year", "years", "month", "months", "week", "weeks", "day", "days", "decade", "decades",
    "hour", "hours",
];
#[rustfmt::skip]
const NUMBER_WORDS: &[&str] = &[
    "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twenty", "thirty",
    "forty", "fifty", "dozen", "dozens", "hundred", "hundreds", "thousand", "thousands", "million",
    "millions", "billion", "percent",
];
#[rustfmt::skip]
const AGENTS: &[&str] = &[
    "researchers", "scientists", "team", "teams", "physicians", "doctors", "clinicians", "company",
    "companies", "industry", "industrial", "industrials", "pharmaceutical", "biotech", "biotechs",
    "association", "associations", "institute", "institutes", "laboratory", "laboratories",
    "stakeholders", "partners", "partnership", "partnerships", "organisation", "organisations",
    "organization", "organizations", "agency", "agencies", "university", "universities",
    "hospital", "hospitals", "academic", "foundation", "foundations",
];
#[rustfmt::skip]
const PLACES: &[&str] = &[
    "europe", "european", "usa", "america", "american", "china", "chinese", "asia", "asian",
    "africa", "african", "japan", "france", "french", "germany", "uk", "britain", "canada",
    "india", "country", "countries", "world", "worldwide", "international", "internationally",
];

/// Which lists each cue word is in, one bit a list: a passage's words are
/// then checked with one lookup each, not a scan of every list.
fn cues() -> &'static FastMap<&'static str, u8> {
    static CUES: OnceLock<FastMap<&'static str, u8>> = OnceLock::new();
    CUES.get_or_init(|| {
        let mut cues = FastMap::default();
        let lists = [
            (CAUSE_BIT, CAUSE),
            (DURATION_BIT, DURATION),
            (TIME_UNIT_BIT, TIME_UNITS),
            (NUMBER_BIT, NUMBER_WORDS),
            (AGENT_BIT, AGENTS),
            (PLACE_BIT, PLACES),
        ];
        for (bit, list) in lists {
            for &word in list {
                *cues.entry(word).or_insert(0) |= bit;
            }
        }
        cues
    })
}

const CAUSE_BIT: u8 = 1;
const DURATION_BIT: u8 = 1 << 1;
const TIME_UNIT_BIT: u8 = 1 << 2;
const NUMBER_BIT: u8 = 1 << 3;
const AGENT_BIT: u8 = 1 << 4;
const PLACE_BIT: u8 = 1 << 5;

/// Whether `text` (analysed as `analysed`) holds the kind of thing `intent` asks for.
pub fn answered_in(intent: Intent, text: &str, analysed: &Analysed) -> bool {
    let cues = cues();
    let bits = |word: &str| cues.get(word).copied().unwrap_or(0);
    let is_number = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit());
    // The distinct words, for what one word shows.
    let mut words = analysed.forms.iter().map(|(word, _)| &**word);
    match intent {
        Intent::Cause => words.any(|w| bits(w) & CAUSE_BIT != 0),
        Intent::Agent => words.any(|w| bits(w) & AGENT_BIT != 0),
        Intent::Place => words.any(|w| bits(w) & PLACE_BIT != 0),
        Intent::Date => words
            .any(|w| is_number(w) && w.len() == 4 && (w.starts_with("19") || w.starts_with("20"))),
        Intent::Quantity => words.any(|w| is_number(w) || bits(w) & NUMBER_BIT != 0),
        Intent::Kinds => enumerates(text, analysed),
        Intent::Duration => {
            words.any(|w| bits(w) & DURATION_BIT != 0) || {
                // "2 years", "ten months": a number, then a unit of time.
                let in_order: Vec<&str> = analysed
                    .tokens
                    .iter()
                    .filter(|t| !t.derived)
                    .map(|t| analysed.word(t))
                    .collect();
                in_order.windows(2).any(|w| {
                    (is_number(w[0]) || bits(w[0]) & NUMBER_BIT != 0)
                        && bits(w[1]) & TIME_UNIT_BIT != 0
                })
            }
        }
    }
}

/// Whether a sentence of `text` lists things ("A, B and C", "such as A",
/// "including A"), or the passage is a list of two items or more.
fn enumerates(text: &str, analysed: &Analysed) -> bool {
    text.matches('•').count() >= 2
        || analysed.sentences.iter().any(|range| {
            let sentence = &text[range.clone()];
            if sentence.contains("such as") || sentence.contains("including") {
                return true;
            }
            let mut commas = sentence.match_indices(", ").map(|(i, _)| i);
            match (commas.next(), commas.next()) {
                (Some(first), Some(_)) => {
                    let after = &sentence[first..];
                    after.contains(" and ") || after.contains(" or ")
                }
                _ => false,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::tokens;

    fn intent(question: &str) -> Option<Intent> {
        of_question(&tokens(question))
    }

    #[test]
    fn questions_say_what_kind_of_answer_they_want() {
        assert_eq!(intent("Why is it so expensive?"), Some(Intent::Cause));
        assert_eq!(
            intent("how long do the effects last"),
            Some(Intent::Duration)
        );
        assert_eq!(intent("When was Glybera approved?"), Some(Intent::Date));
        assert_eq!(intent("in what year did trials start"), Some(Intent::Date));
        assert_eq!(
            intent("how many patients were treated"),
            Some(Intent::Quantity)
        );
        assert_eq!(intent("who funds the research"), Some(Intent::Agent));
        assert_eq!(intent("which countries sell it"), Some(Intent::Place));
        assert_eq!(intent("which medical fields benefit"), Some(Intent::Kinds));
        assert_eq!(intent("what are some vectors in use"), Some(Intent::Kinds));
        assert_eq!(intent("in what diseases is it tried"), Some(Intent::Kinds));
        assert_eq!(intent("what is a vector"), None);
        assert_eq!(intent("what are oligonucleotides"), None);
        assert_eq!(intent("which is safer"), None);
    }

    #[test]
    fn clause_words_ask_nothing() {
        // Regression: "when" inside the question took it for a question about dates.
        assert_eq!(intent("what happens to the gene when the cell dies"), None);
        assert_eq!(intent("can patients who had leukemia be treated"), None);
    }

    #[test]
    fn passages_show_the_kind_of_answer_they_hold() {
        let holds = |intent, text| answered_in(intent, text, &Analysed::of(text));
        assert!(holds(
            Intent::Cause,
            "Insertions were responsible for leukemia."
        ));
        assert!(!holds(Intent::Cause, "The immune response was strong."));
        assert!(holds(
            Intent::Duration,
            "The gene was expressed 2 years after treatment."
        ));
        assert!(holds(Intent::Duration, "The effect is long-term."));
        assert!(!holds(Intent::Duration, "A long vector."));
        assert!(holds(Intent::Date, "Approved in 2017."));
        assert!(!holds(Intent::Date, "Around 2500 patients."));
        assert!(holds(Intent::Quantity, "Around thirty trials."));
        assert!(holds(Intent::Agent, "Patient associations and biotechs."));
        assert!(holds(Intent::Place, "Available in Europe and China."));
        assert!(holds(
            Intent::Kinds,
            "Results in immunology, hematology, neurology and ophthalmology."
        ));
        assert!(holds(Intent::Kinds, "Diseases such as hemophilia."));
        assert!(holds(Intent::Kinds, "Drugs:\n• Glybera\n• Strimvelis"));
        assert!(!holds(
            Intent::Kinds,
            "Cells, once modified, are reinjected."
        ));
    }
}
