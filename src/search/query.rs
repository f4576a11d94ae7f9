//! How the ranking reads a question: its content words become concepts, each
//! with the index terms that stand for it (typo corrections, numerals written
//! the other way, synonyms, acronyms) and its rarity; and the question's frame
//! says what it asks for ("what is X", "what does X stand for", "why").

use super::context::Carried;
use super::retrieve::Lookup;
use crate::analysis::{self, Token};
use crate::config::SearchConfig;
use crate::index::Index;
use crate::{Error, FastMap};

/// A content word of the question and the index terms that stand for it.
#[derive(Debug, Clone)]
pub(crate) struct Concept {
    /// The word as typed (folded), for spelling corrections.
    pub word: String,
    pub alternatives: Vec<(String, f32)>,
    /// How much of this concept the corpus knows: 1 as typed, less through a correction.
    pub known: f32,
    pub idf: f32,
}

impl Concept {
    fn add(&mut self, stem: &str, weight: f32) {
        match self.alternatives.iter_mut().find(|(s, _)| s == stem) {
            Some(existing) => existing.1 = existing.1.max(weight),
            None => self.alternatives.push((stem.to_string(), weight)),
        }
    }
}

/// The question as the ranking and the verdict read it.
pub(crate) struct Query {
    pub concepts: Vec<Concept>,
    /// Share of the question's content words the corpus knows (rarity-weighted).
    pub known_share: f32,
    /// Search syntax left unfinished ("gene AND (therapy OR").
    pub syntax: bool,
}

/// What a question turned out to be.
pub(crate) enum Reading {
    /// A greeting or a call for help.
    Greeting,
    /// No content word to search on.
    Empty,
    Query(Query),
}

/// Reads `text` (the question, already cut to its length limit), with the
/// words `carried` from its conversation as concepts of their own weight.
pub(crate) fn read(
    lookup: &Lookup,
    config: &SearchConfig,
    text: &str,
    carried: &[Carried],
) -> Result<Reading, Error> {
    let tokens = analysis::tokens(text);
    if config.greetings && carried.is_empty() && is_greeting(&tokens) {
        return Ok(Reading::Greeting);
    }
    // "What does AAV stand for": the frame names no subject.
    let expansion = asks_expansion(&tokens);
    let tokens = if expansion {
        without_expansion_frame(tokens)
    } else {
        tokens
    };
    let mut concepts = concepts(lookup, config, &tokens)?;
    for word in carried {
        let df = lookup.doc_freq(&word.stem)?;
        if df == 0
            || concepts
                .iter()
                .any(|c| c.alternatives.iter().any(|(s, _)| *s == word.stem))
        {
            continue;
        }
        concepts.push(Concept {
            word: word.word.to_lowercase(),
            alternatives: vec![(word.stem.clone(), word.weight)],
            known: 1.0,
            idf: idf(lookup, df) * word.weight,
        });
    }
    let total_idf: f32 = concepts.iter().map(|c| c.idf).sum();
    if total_idf <= 0.0 {
        return Ok(Reading::Empty);
    }
    Ok(Reading::Query(Query {
        known_share: concepts.iter().map(|c| c.idf * c.known).sum::<f32>() / total_idf,
        syntax: is_broken_query_syntax(text),
        concepts,
    }))
}

/// The rarity-weighted sum of per-concept `weights`.
pub(crate) fn weighted(concepts: &[Concept], weights: &[f32]) -> f32 {
    concepts.iter().zip(weights).map(|(c, w)| c.idf * w).sum()
}

/// How much "III" counts for a question's "3" (and "3" for "III"): the same
/// number, though "IV" may also be a drip and "XI" a letter.
const NUMERAL_WEIGHT: f32 = 1.0;

const GREETINGS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "hiya",
    "yo",
    "greetings",
    "thanks",
    "thank",
    "thx",
    "cheers",
    "bye",
    "goodbye",
    "great",
    "cool",
    "nice",
    "perfect",
    "helped",
    "helpful",
    "help",
    "bot",
    "citebot",
    "anyone",
    "anybody",
    "there",
    "morning",
    "evening",
    "afternoon",
    "ok",
    "okay",
    "test",
];

fn concepts(
    lookup: &Lookup,
    config: &SearchConfig,
    tokens: &[Token],
) -> Result<Vec<Concept>, Error> {
    let idf = |df: u64| idf(lookup, df);

    let mut concepts: Vec<Concept> = Vec::new();
    // Stems of the content words in question order, and which concept each is.
    let mut run: Vec<(String, usize)> = Vec::new();
    let mut by_position: FastMap<u32, usize> = FastMap::default();
    // The word before, if a content word: a number labels it ("phase 3", "factor IX").
    let mut label: Option<&Token> = None;
    for token in tokens {
        if token.derived {
            // A joined compound or letter prefix stands for the word it came from.
            let owner = by_position
                .get(&token.position)
                .or_else(|| by_position.get(&token.position.wrapping_sub(1)));
            if let Some(&i) = owner {
                concepts[i].add(&token.stem, 1.0);
            }
            continue;
        }
        // "III" for "phase 3", but not "4" for "IV injection" nor for "2 3 4".
        let numeral = label
            .take()
            .filter(|l| l.position + 1 == token.position)
            .filter(|l| analysis::numeral_equivalent(&l.word).is_none())
            .and_then(|_| analysis::numeral_equivalent(&token.word));
        let stop = analysis::is_stop_word(&token.word);
        if !stop {
            label = Some(token);
        }
        // Single letters and digits ("1=1", "hemophilia B") say too little to
        // search on, unless written another way they are a word ("phase 3": "III").
        if stop || (token.word.chars().count() < 2 && numeral.is_none()) {
            continue;
        }
        if let Some(i) = concepts
            .iter()
            .position(|c| c.alternatives[0].0 == token.stem)
        {
            by_position.insert(token.position, i);
            continue;
        }
        by_position.insert(token.position, concepts.len());
        run.push((token.stem.clone(), concepts.len()));
        // A numeral's other spelling is never its stem ("3" is not "iii").
        let mut alternatives = vec![(token.stem.clone(), 1.0)];
        alternatives.extend(numeral.map(|other| (other, NUMERAL_WEIGHT)));
        concepts.push(Concept {
            word: token.word.clone(),
            alternatives,
            known: 1.0,
            idf: 0.0,
        });
        // Bound the work a very long question can cause.
        if concepts.len() >= 64 {
            break;
        }
    }

    // Rarity from the index; words the corpus never uses get a spelling it does use.
    for concept in &mut concepts {
        let mut df = 0;
        for (stem, _) in &concept.alternatives {
            df = df.max(lookup.doc_freq(stem)?);
        }
        concept.idf = idf(df);
        if df > 0 {
            continue;
        }
        concept.known = 0.0;
        let corrections = corrections(lookup.index(), &concept.word)?;
        if corrections.iter().any(|w| analysis::is_stop_word(w)) {
            // "wich", "teh": a misspelt function word carries no content.
            concept.idf = 0.0;
            concept.alternatives.clear();
            continue;
        }
        for word in corrections {
            let stem = analysis::tokens(&word)
                .into_iter()
                .next()
                .map_or(word, |t| t.stem);
            concept.add(&stem, config.fuzzy_weight);
            concept.known = config.fuzzy_weight;
        }
    }

    // Synonyms and acronyms, both ways, attached to the words they replace.
    let stems: Vec<String> = run.iter().map(|(s, _)| s.clone()).collect();
    for (at, others) in lookup.index().lexicon.expansions(&stems) {
        let owners: Vec<usize> = run[at].iter().map(|(_, c)| *c).collect();
        for other in others {
            for stem in other {
                for &c in &owners {
                    concepts[c].add(stem, config.expansion_weight);
                }
            }
            let known = other.iter().all(|s| lookup.doc_freq(s).unwrap_or(0) > 0);
            if known {
                for &c in &owners {
                    let concept = &mut concepts[c];
                    concept.known = concept.known.max(config.expansion_weight);
                }
            }
        }
    }
    Ok(concepts)
}

/// BM25's rarity of a stem `df` passages hold.
fn idf(lookup: &Lookup, df: u64) -> f32 {
    let n = lookup.passages().max(1) as f32;
    (1.0 + (n - df as f32 + 0.5) / (df as f32 + 0.5)).ln()
}

/// Corpus words within a small edit distance of `word`, the closest ones
/// (the first three in dictionary order).
fn corrections(index: &Index, word: &str) -> Result<Vec<String>, Error> {
    // Two edits only in long words: in short ones they reach unrelated words.
    let max_distance = match word.chars().count() {
        0..=3 => return Ok(Vec::new()),
        4..=9 => 1,
        _ => 2,
    };
    let Some(first) = word.chars().next() else {
        return Ok(Vec::new());
    };
    let same_first = prefix_range(&word[..first.len_utf8()]);
    let mut found = std::collections::BTreeSet::new();
    // One edit. A Levenshtein automaton walks the dictionary only where a
    // word could be in reach, but a changed first letter puts every branch
    // of the dictionary in reach: so the automaton walks only the words
    // that keep the first letter, and the words whose first letter is the
    // edit are looked up directly (a few dozen lookups instead of a walk).
    index.words_within(word, 1, &same_first, &mut found)?;
    let rest = &word[first.len_utf8()..];
    // One buffer for the ~75 candidates; only those in the dictionary are kept.
    let mut candidate = String::with_capacity(word.len() + 4);
    let mut check = |parts: &[&str]| {
        candidate.clear();
        parts.iter().for_each(|part| candidate.push_str(part));
        if index.knows_word(&candidate) {
            found.insert(candidate.clone());
        }
    };
    check(&[rest]);
    let mut first_buf = [0u8; 4];
    let first_str = first.encode_utf8(&mut first_buf);
    if let Some(second) = rest.chars().next() {
        let mut second_buf = [0u8; 4];
        check(&[
            second.encode_utf8(&mut second_buf),
            first_str,
            &rest[second.len_utf8()..],
        ]);
    }
    for c in ('a'..='z').chain('0'..='9').filter(|&c| c != first) {
        let mut c_buf = [0u8; 4];
        let c = c.encode_utf8(&mut c_buf);
        check(&[c, rest]);
        check(&[c, word]);
    }
    // A word of another script: its first letter may have been typed as
    // another letter of that script, which only a walk of the whole
    // dictionary finds. (The reverse, a Latin word typed with a first
    // letter of another script, is no typo.)
    if !first.is_ascii() {
        index.words_within(word, 1, &(String::new(), None), &mut found)?;
    }
    // Two edits away, keep the first two letters: typos there are rare in a
    // long word, and two edits put so much of the dictionary in reach that
    // walking even one letter's share costs most of an answer on a large corpus.
    if found.iter().all(|w: &String| w.chars().count() < 3) && max_distance > 1 {
        let head: String = word.chars().take(2).collect();
        index.words_within(word, 2, &prefix_range(&head), &mut found)?;
    }
    Ok(found
        .into_iter()
        .filter(|w| w.chars().count() >= 3)
        .take(3)
        .collect())
}

/// The dictionary key range [start, end) of the words starting with `prefix`
/// (no end: to the last word).
fn prefix_range(prefix: &str) -> (String, Option<String>) {
    let mut chars = prefix.chars();
    let end = chars
        .next_back()
        .and_then(|last| char::from_u32(u32::from(last) + 1))
        .map(|next| format!("{}{next}", chars.as_str()));
    (prefix.to_string(), end)
}

/// "stand(s) for", "short for": words of the expansion frame when "for" follows.
const FOR_FRAME: &[&str] = &["stand", "stands", "short"];

/// "acronym", "abbreviation", "abbreviated": words that name the question as one about an acronym.
fn names_acronym(word: &str) -> bool {
    word.starts_with("acronym") || word.starts_with("abbreviat")
}

/// "What does AAV stand for", "AAV is short for", "the acronym CAR".
fn asks_expansion(tokens: &[Token]) -> bool {
    let words = analysis::plain_words(tokens);
    words
        .windows(2)
        .any(|w| FOR_FRAME.contains(&w[0]) && w[1] == "for")
        || words.iter().any(|w| names_acronym(w))
}

/// The question's tokens without the words of the expansion frame.
fn without_expansion_frame(tokens: Vec<Token>) -> Vec<Token> {
    let frame: Vec<u32> = tokens
        .iter()
        .filter(|t| !t.derived && (FOR_FRAME.contains(&t.word.as_str()) || names_acronym(&t.word)))
        .map(|t| t.position)
        .collect();
    tokens
        .into_iter()
        .filter(|t| !frame.contains(&t.position))
        .collect()
}

pub(crate) const SYNTAX_NOTICE: &str =
    "Search syntax (AND, OR, NOT, brackets, quotes) is not supported: ask in plain words.";

/// Search-engine syntax left unfinished ("gene AND (therapy OR", `" OR 1=1 --`):
/// a test of the parser or a paste gone wrong, not a question. Well-formed
/// operators ("gene AND therapy") are read as plain words.
fn is_broken_query_syntax(read: &str) -> bool {
    let words: Vec<&str> = read.split_whitespace().collect();
    let operator = |w: &&str| matches!(w.trim_matches(['(', ')', '"']), "AND" | "OR" | "NOT");
    if !words.iter().any(operator) {
        return false;
    }
    let opens = read.matches('(').count();
    let closes = read.matches(')').count();
    let quotes = read.matches('"').count();
    opens != closes
        || quotes % 2 == 1
        || words.first().is_some_and(|w| matches!(*w, "AND" | "OR"))
        || words.last().is_some_and(operator)
}

fn is_greeting(tokens: &[Token]) -> bool {
    let words = analysis::plain_words(tokens);
    words.iter().any(|w| GREETINGS.contains(w))
        && words
            .iter()
            .all(|w| GREETINGS.contains(w) || analysis::is_stop_word(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acronym_questions_are_recognised_and_their_frame_dropped() {
        let asks = |q: &str| asks_expansion(&analysis::tokens(q));
        assert!(asks("what does AAV stand for"));
        assert!(asks("CAR is short for?"));
        assert!(asks("what is the abbreviation siRNA"));
        assert!(!asks("do the short DNA drugs need a virus"));
        assert!(!asks("what stands in the way of gene therapy"));
        let words: Vec<String> =
            without_expansion_frame(analysis::tokens("what does AAV stand for"))
                .into_iter()
                .map(|t| t.word)
                .collect();
        assert_eq!(words, ["what", "does", "aav", "for"]);
    }

    #[test]
    fn unfinished_search_syntax_is_recognised() {
        assert!(is_broken_query_syntax("gene AND (therapy OR"));
        assert!(is_broken_query_syntax("\" OR 1=1 --"));
        assert!(is_broken_query_syntax("AAV NOT"));
        assert!(!is_broken_query_syntax("gene AND therapy"));
        assert!(!is_broken_query_syntax("(gene OR cell) therapy"));
        assert!(!is_broken_query_syntax("what is CAR T (chimeric receptor"));
        assert!(!is_broken_query_syntax("is it safe or not"));
    }

    #[test]
    fn greetings_are_recognised() {
        assert!(is_greeting(&analysis::tokens("hi bot")));
        assert!(is_greeting(&analysis::tokens("hello? anyone there")));
        assert!(!is_greeting(&analysis::tokens("hi, what is gene therapy")));
    }

    // Regression: a thank-you took "helped" for a question and cited the
    // passage with "thanks to ... help it".
    #[test]
    fn thanks_and_sign_offs_are_greetings() {
        assert!(is_greeting(&analysis::tokens("thanks, that helped")));
        assert!(is_greeting(&analysis::tokens("great, cheers bot")));
        assert!(!is_greeting(&analysis::tokens(
            "thanks, and what helped the patients"
        )));
    }
}
