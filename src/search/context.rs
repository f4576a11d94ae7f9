//! A follow-up read in its conversation. "How much does it cost?" after
//! "what is Strimvelis?" asks about Strimvelis: the earlier turns' words (and
//! the rarest words of the sentence that answered them, where a follow-up
//! may find what "it" is) are carried into the question, weighted below its
//! own words and fading with each turn back. Whether a question leans on the
//! turns before is read from its grammar alone: a pronoun or demonstrative,
//! an opening "and" or "what about", too few words of its own to stand
//! alone; and a question that says it starts afresh ("btw", "unrelated")
//! carries nothing, nor do the follow-ups after it carry what came before it.
//! A question of its own words is ranked with the carried words at a lesser
//! weight (half where it names something as known, "the receptor recognises
//! what?", a quarter otherwise) but judged on its own.

use super::retrieve::Lookup;
use crate::analysis::{self, Token};
use crate::answer::Turn;
use crate::config::SearchConfig;
use crate::Error;

/// How a question stands toward the conversation before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stance {
    /// It says it starts a new subject.
    Fresh,
    /// It leans on what came before.
    Leans,
    /// It is worded to stand on its own but names something by a definite
    /// description ("the receptor recognises what?"), which may be the
    /// conversation's.
    Refers,
    /// It stands on its own words.
    Alone,
}

/// Words that point back at something named before: English's third-person
/// pronouns and demonstratives ("one" as in "which one"), and their
/// contractions as the analysis reads them ("they're" is "theyre"; "it's"
/// is "it" and "s").
const ANAPHORS: &[&str] = &[
    "it",
    "its",
    "itself",
    "itll",
    "itd",
    "they",
    "them",
    "their",
    "theirs",
    "themselves",
    "theyre",
    "theyve",
    "theyll",
    "theyd",
    "this",
    "that",
    "these",
    "those",
    "thatll",
    "thatd",
    "he",
    "him",
    "his",
    "she",
    "her",
    "one",
    "ones",
];

/// Determiners of a definite description: what they introduce is taken to
/// be known, often from the turns before ("which continents ran the
/// studies?").
const DEFINITE: &[&str] = &["the", "such"];

/// First words that continue the exchange rather than open one.
const OPENERS: &[&str] = &["and", "also", "but", "so", "then", "same"];

/// Two-word openings that do the same ("what about X?").
const ABOUT: &[[&str; 2]] = &[["what", "about"], ["how", "about"], ["and", "what"]];

/// Openings that announce a new subject.
const FRESH: &[&[&str]] = &[
    &["btw"],
    &["by", "the", "way"],
    &["unrelated"],
    &["new", "question"],
    &["another", "question"],
    &["different", "question"],
    &["new", "topic"],
    &["different", "topic"],
    &["other", "topic"],
    &["off", "topic"],
    &["changing", "the", "subject"],
    &["change", "of", "subject"],
];

/// A question with at most this many content words cannot stand alone in a
/// conversation ("which tools are used?", "how many patients?").
const FEW_WORDS: usize = 2;

/// Turns looked back at.
const TURNS: usize = 3;

/// Words carried from the turns before, at most.
const CARRIED: usize = 6;

/// Words of an answer's sentence carried: its rarest.
const ANSWER_WORDS: usize = 2;

/// The carried words' weight in a question worded to stand alone, against
/// one that leans on the conversation: a half where it [`Stance::Refers`] to
/// something, a quarter otherwise, so that they help rank its passages
/// without pulling a new subject back to the old one (on the fourteen
/// conversation sets before the fifteenth, a half for every such question
/// lost more new subjects than it gained).
pub(crate) fn lent_share(stance: Stance) -> f32 {
    match stance {
        Stance::Refers => 0.5,
        Stance::Alone => 0.25,
        Stance::Leans | Stance::Fresh => 1.0,
    }
}

pub(crate) fn stance(tokens: &[Token]) -> Stance {
    if fresh_opening(tokens).is_some() {
        return Stance::Fresh;
    }
    let words = analysis::plain_words(tokens);
    let starts = |phrase: &[&str]| words.len() >= phrase.len() && words[..phrase.len()] == *phrase;
    let content = words
        .iter()
        .filter(|w| w.chars().count() > 1 && !analysis::is_stop_word(w))
        .count();
    if words.first().is_some_and(|w| OPENERS.contains(w))
        || ABOUT.iter().any(|p| starts(p))
        || words.iter().any(|w| ANAPHORS.contains(w))
        || content <= FEW_WORDS
    {
        Stance::Leans
    } else if words.iter().any(|w| DEFINITE.contains(w)) {
        Stance::Refers
    } else {
        Stance::Alone
    }
}

/// Where an opening that announces a new subject ("btw", "unrelated:")
/// ends in the text `tokens` were read from: the byte after its last word.
fn fresh_opening(tokens: &[Token]) -> Option<usize> {
    let plain: Vec<&Token> = tokens.iter().filter(|t| !t.derived).collect();
    FRESH.iter().find_map(|phrase| {
        let opening = plain.get(..phrase.len())?;
        let same = opening.iter().zip(phrase.iter()).all(|(t, w)| t.word == *w);
        same.then(|| opening.last().map_or(0, |t| t.end))
    })
}

/// `text` without an opening that only says a new subject starts: "btw,
/// what does siRNA stand for" asks "what does siRNA stand for", and its
/// "btw" would count as a word of the question that nothing answers.
fn without_fresh_opening(text: &str) -> &str {
    match fresh_opening(&analysis::tokens(text)) {
        Some(end) => text
            .get(end..)
            .unwrap_or_default()
            .trim_start_matches(|c: char| {
                c.is_whitespace() || matches!(c, ',' | ':' | ';' | '-' | '.' | '!')
            })
            .trim_end(),
        None => text,
    }
}

/// `text` without an opening that starts afresh ([`without_fresh_opening`]),
/// and whether it does start afresh: a question of its own follows the
/// opening (a bare "btw" asks nothing new).
pub(crate) fn fresh_start(text: &str) -> (&str, bool) {
    let asked = without_fresh_opening(text);
    (asked, !asked.is_empty() && asked.len() < text.len())
}

/// A word carried into a follow-up: as written where it was found, and its
/// weight beside the question's own words (1).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Carried {
    pub word: String,
    pub stem: String,
    pub weight: f32,
}

/// The words `earlier` turns lend a question whose own stems are `own`,
/// heaviest first.
pub(crate) fn carried(
    lookup: &Lookup,
    config: &SearchConfig,
    earlier: &[Turn],
    own: &[Token],
) -> Result<Vec<Carried>, Error> {
    let mut found: Vec<Carried> = Vec::new();
    let mut offer = |word: &str, stem: &str, weight: f32| {
        if own.iter().any(|t| t.stem == stem) {
            return;
        }
        match found.iter_mut().find(|c| c.stem == stem) {
            Some(known) => known.weight = known.weight.max(weight),
            None => found.push(Carried {
                word: word.to_string(),
                stem: stem.to_string(),
                weight,
            }),
        }
    };
    let mut fade = 1.0;
    for turn in earlier.iter().rev().take(TURNS) {
        let (asked, afresh) = fresh_start(&turn.question);
        for (word, stem) in content_words(asked) {
            offer(word, &stem, config.context_weight * fade);
        }
        if let Some(sentence) = &turn.answer {
            let mut rare = Vec::new();
            for (word, stem) in content_words(sentence) {
                let df = lookup.doc_freq(&stem)?;
                if df > 0 && !rare.iter().any(|(_, s, _)| *s == stem) {
                    rare.push((word, stem, df));
                }
            }
            rare.sort_by_key(|&(_, _, df)| df);
            for (word, stem, _) in rare.into_iter().take(ANSWER_WORDS) {
                offer(word, &stem, config.context_answer_weight * fade);
            }
        }
        // "btw, what is CRISPR?" started a new subject: what came before it
        // is another conversation.
        if afresh {
            break;
        }
        fade *= config.context_fade;
    }
    // Stable: among equal weights, the order they were found in (newest turn first).
    found.sort_by(|a, b| b.weight.total_cmp(&a.weight));
    found.truncate(CARRIED);
    Ok(found)
}

/// The question as understood: its own text and the carried words.
pub(crate) fn understood(text: &str, carried: &[Carried]) -> String {
    let words: Vec<&str> = carried.iter().map(|c| c.word.as_str()).collect();
    format!("{} ({})", text.trim(), words.join(", "))
}

/// The content words of `text` as written, with their stems.
fn content_words(text: &str) -> Vec<(&str, String)> {
    analysis::tokens(text)
        .into_iter()
        .filter(|t| !t.derived && t.word.chars().count() > 1 && !analysis::is_stop_word(&t.word))
        .filter_map(|t| Some((text.get(t.start..t.end)?, t.stem)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stance_of(text: &str) -> Stance {
        stance(&analysis::tokens(text))
    }

    #[test]
    fn pronouns_openers_and_short_questions_lean_on_the_conversation() {
        assert_eq!(stance_of("how much does it cost?"), Stance::Leans);
        assert_eq!(stance_of("and for hemophilia?"), Stance::Leans);
        assert_eq!(stance_of("what about lentiviral ones?"), Stance::Leans);
        assert_eq!(stance_of("why?"), Stance::Leans);
        assert_eq!(stance_of("tell me more"), Stance::Leans);
        assert_eq!(stance_of("which tools are used?"), Stance::Leans);
    }

    // Regression (the eighth conversation set): "what happens once they're
    // put back?" was read on its own, its pronoun written as a contraction.
    #[test]
    fn a_pronoun_in_a_contraction_leans_on_the_conversation() {
        assert_eq!(
            stance_of("what happens once they're put back in the patient?"),
            Stance::Leans
        );
        assert_eq!(
            stance_of("how soon will they've finished the French trial"),
            Stance::Leans
        );
    }

    #[test]
    fn a_question_with_its_own_subject_stands_alone_and_btw_starts_afresh() {
        assert_eq!(
            stance_of("how are AAV vectors delivered to patients"),
            Stance::Alone
        );
        assert_eq!(stance_of("btw how much does glybera cost?"), Stance::Fresh);
        assert_eq!(stance_of("unrelated: what is CRISPR"), Stance::Fresh);
        assert_eq!(stance_of("by the way, what is it?"), Stance::Fresh);
    }

    #[test]
    fn a_question_of_its_own_words_with_a_definite_description_refers() {
        assert_eq!(
            stance_of("which continents ran the studies?"),
            Stance::Refers
        );
        assert_eq!(
            stance_of("are such methods as good as viruses?"),
            Stance::Refers
        );
        assert_eq!(stance_of("monitoring treated patients"), Stance::Alone);
    }

    // Regression (the fifth conversation set): "btw" and "unrelated:" were
    // read as words of the question, which nothing in the corpus holds, and
    // both of its topic switches were declined.
    #[test]
    fn an_opening_that_starts_afresh_is_not_part_of_the_question() {
        for (text, asked) in [
            ("btw what does siRNA stand for", "what does siRNA stand for"),
            ("unrelated: who is Alain Fischer", "who is Alain Fischer"),
            (
                "By the way, how much does it cost? ",
                "how much does it cost?",
            ),
            ("btw", ""),
            ("what is btw", "what is btw"),
            ("new questions about CRISPR", "new questions about CRISPR"),
        ] {
            assert_eq!(without_fresh_opening(text), asked, "{text}");
        }
    }

    // Regression (the sixteenth conversation set): "ok" and "everyone" were
    // carried into the next turns as words of the subject, and shown in
    // what the follow-ups were understood as.
    #[test]
    fn fillers_and_indefinite_pronouns_are_not_carried() {
        let words: Vec<&str> =
            content_words("ok, which country had one on sale before everyone else?")
                .into_iter()
                .map(|(word, _)| word)
                .collect();
        assert_eq!(words, ["country", "one", "sale"]);
    }

    #[test]
    fn understood_names_the_carried_words() {
        let carried = [Carried {
            word: "Strimvelis".into(),
            stem: "strimveli".into(),
            weight: 0.5,
        }];
        assert_eq!(
            understood(" how much does it cost? ", &carried),
            "how much does it cost? (Strimvelis)"
        );
    }
}
