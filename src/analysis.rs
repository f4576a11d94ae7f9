//! Text analysis shared by indexing and querying: one function turns text into
//! folded words and English stems, so a question and a passage always meet on
//! the same terms. tantivy sees it through [`CitebotTokenizer`].

use std::sync::OnceLock;

use frostem::{Algorithm, Stemmer};
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

/// One analysed word of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// Byte range of the word in the analysed text.
    pub start: usize,
    pub end: usize,
    /// Word number; extra forms of a word (compound joins, letter prefixes) share it.
    pub position: u32,
    /// Lowercased, accent-folded surface form.
    pub word: String,
    /// English Snowball stem of `word`.
    pub stem: String,
    /// True for the extra forms added beside a word.
    pub derived: bool,
}

/// Splits `text` into analysed tokens.
///
/// Beyond plain words it adds, at the same position: the joined form of a
/// hyphenated compound ("CAR-T" → also "cart"), and the letter part of a
/// letters-then-digits word ("AAV9" → also "aav"), so both spellings meet.
pub fn tokens(text: &str) -> Vec<Token> {
    let stemmer = Stemmer::new(Algorithm::English);
    let mut out: Vec<Token> = Vec::new();
    let mut position: u32 = 0;
    // (index in `out` of the previous word, its end byte) for compound joins.
    let mut previous: Option<(usize, usize)> = None;
    let mut hyphen_after_previous = false;

    for (start, segment) in text.split_word_bound_indices() {
        if segment == "%" {
            // "65%" is read as "65 percent", so "what percentage" can find it.
            out.push(Token {
                start,
                end: start + 1,
                position,
                word: "percent".into(),
                stem: "percent".into(),
                derived: false,
            });
            position += 1;
            previous = None;
            hyphen_after_previous = false;
            continue;
        }
        if !segment.chars().any(char::is_alphanumeric) {
            // A lone hyphen between two words keeps the compound open.
            let is_hyphen = matches!(segment, "-" | "\u{2010}" | "\u{2011}");
            hyphen_after_previous = is_hyphen
                && previous.is_some_and(|(_, end)| end == start)
                && !hyphen_after_previous;
            if !is_hyphen {
                previous = None;
            }
            continue;
        }
        let word = fold(segment);
        if word.is_empty() {
            previous = None;
            continue;
        }
        let end = start + segment.len();
        let index = out.len();
        out.push(Token {
            start,
            end,
            position,
            stem: stem(&stemmer, &word),
            word: word.clone(),
            derived: false,
        });

        if hyphen_after_previous {
            if let Some((prev_index, _)) = previous {
                let prev = &out[prev_index];
                if is_alphabetic_word(&prev.word) && is_alphabetic_word(&word) {
                    let joined = format!("{}{}", prev.word, word);
                    let token_start = prev.start;
                    out.push(Token {
                        start: token_start,
                        end,
                        position,
                        stem: stem(&stemmer, &joined),
                        word: joined,
                        derived: true,
                    });
                }
            }
        }
        if let Some(prefix) = letter_prefix(&word) {
            out.push(Token {
                start,
                end,
                position,
                stem: prefix.to_string(),
                word: prefix.to_string(),
                derived: true,
            });
        }
        previous = Some((index, end));
        hyphen_after_previous = false;
        position += 1;
    }
    out
}

/// Lowercases, folds accents and Greek letters, drops possessives and inner
/// punctuation ("Leber’s" → "leber", "i.e" → "ie", "β" → "beta").
pub fn fold(segment: &str) -> String {
    let mut lowered = String::with_capacity(segment.len());
    for c in segment.nfkd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        match greek_name(c) {
            Some(name) => lowered.push_str(name),
            None => lowered.extend(c.to_lowercase()),
        }
    }
    let lowered = lowered.replace(['\u{2019}', '\u{2018}', '`'], "'");
    let trimmed = lowered
        .strip_suffix("'s")
        .or_else(|| lowered.strip_suffix('\''))
        .unwrap_or(&lowered);
    trimmed.chars().filter(|c| c.is_alphanumeric()).collect()
}

fn stem(stemmer: &Stemmer, word: &str) -> String {
    if word.chars().any(|c| c.is_ascii_digit()) {
        return word.to_string();
    }
    stemmer.stem(word).into_owned()
}

fn is_alphabetic_word(word: &str) -> bool {
    word.chars().count() >= 1 && word.chars().all(char::is_alphabetic)
}

/// "aav9" → "aav", "cd34" → "cd"; nothing for "p53" (one letter) or "2017".
fn letter_prefix(word: &str) -> Option<&str> {
    let letters = word.find(|c: char| c.is_ascii_digit())?;
    let (head, tail) = word.split_at(letters);
    (head.chars().count() >= 2
        && head.chars().all(char::is_alphabetic)
        && tail.chars().all(|c| c.is_ascii_digit()))
    .then_some(head)
}

fn greek_name(c: char) -> Option<&'static str> {
    Some(match c {
        'α' | 'Α' => "alpha",
        'β' | 'Β' => "beta",
        'γ' | 'Γ' => "gamma",
        'δ' | 'Δ' => "delta",
        'ε' | 'Ε' => "epsilon",
        'κ' | 'Κ' => "kappa",
        'λ' | 'Λ' => "lambda",
        'μ' | 'Μ' => "mu",
        'σ' | 'Σ' => "sigma",
        'τ' | 'Τ' => "tau",
        'ω' | 'Ω' => "omega",
        _ => return None,
    })
}

/// Words that carry no content in a question. Negations are deliberately
/// absent: "does not modify" must keep its "not".
pub fn is_stop_word(word: &str) -> bool {
    static SET: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| STOP_WORDS.split_whitespace().collect())
        .contains(word)
}

const STOP_WORDS: &str = "a an the and or but if then else of at by for with about against between \
into through during before after above below to from up down in out on off over under again further \
here there when where why how what which who whom whose this that these those am is are was were \
be been being have has had having do does did doing would should could ought might must shall will can \
may i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her \
hers herself it its itself they them their theirs themselves as until while so than too very just also \
any each few more most other some such only own same both all s t d ll m o re ve y im ive youre dont \
does doesnt did didnt isnt arent wasnt werent get got getting tell explain describe please know \
thing things kind kinds way ways really actually exactly right now like much many lot lots anything \
something someone anyone use used using there's what's whats hows";

/// Marker so tantivy and the query side can never disagree on which analysis a field used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// Folded surface words, no stemming.
    Word,
    /// English stems.
    Stem,
}

/// [`tokens`] as a tantivy tokenizer.
#[derive(Clone)]
pub struct CitebotTokenizer {
    pub form: Form,
}

pub struct VecTokenStream {
    tokens: Vec<tantivy::tokenizer::Token>,
    next: usize,
}

impl tantivy::tokenizer::Tokenizer for CitebotTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let tokens = tokens(text)
            .into_iter()
            .map(|t| tantivy::tokenizer::Token {
                offset_from: t.start,
                offset_to: t.end,
                position: t.position as usize,
                text: match self.form {
                    Form::Word => t.word,
                    Form::Stem => t.stem,
                },
                position_length: 1,
            })
            .collect();
        VecTokenStream { tokens, next: 0 }
    }
}

impl tantivy::tokenizer::TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &tantivy::tokenizer::Token {
        &self.tokens[self.next - 1]
    }

    fn token_mut(&mut self) -> &mut tantivy::tokenizer::Token {
        &mut self.tokens[self.next - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        tokens(text).into_iter().map(|t| t.word).collect()
    }

    fn stems(text: &str) -> Vec<String> {
        tokens(text).into_iter().map(|t| t.stem).collect()
    }

    #[test]
    fn folds_case_accents_and_possessives() {
        assert_eq!(words("Leber’s Généthon"), ["leber", "genethon"]);
        assert_eq!(words("patient's cells"), ["patient", "cells"]);
    }

    #[test]
    fn hyphenated_compounds_keep_parts_and_join() {
        assert_eq!(words("CAR-T cells"), ["car", "t", "cart", "cells"]);
        assert_eq!(words("β-globin"), ["beta", "globin", "betaglobin"]);
        // Numbers are not joined: a year range is two years.
        assert_eq!(words("1989-2017"), ["1989", "2017"]);
    }

    #[test]
    fn letters_then_digits_also_give_the_letters() {
        assert_eq!(
            words("AAV9 CD34+ p53"),
            ["aav9", "aav", "cd34", "cd", "p53"]
        );
        assert_eq!(words("65% of trials"), ["65", "percent", "of", "trials"]);
    }

    #[test]
    fn derived_forms_share_the_position() {
        let t = tokens("CAR-T cells");
        assert_eq!(
            t.iter().map(|t| t.position).collect::<Vec<_>>(),
            [0, 1, 1, 2]
        );
        assert!(t[2].derived);
        assert_eq!(&"CAR-T cells"[t[2].start..t[2].end], "CAR-T");
    }

    #[test]
    fn stems_english() {
        assert_eq!(
            stems("vectors delivered injections"),
            ["vector", "deliv", "inject"]
        );
    }

    #[test]
    fn offsets_point_into_the_original_text() {
        let text = "Thérapie génique: AAV vectors";
        for t in tokens(text) {
            assert!(text.is_char_boundary(t.start) && text.is_char_boundary(t.end));
        }
    }

    #[test]
    fn negations_are_not_stop_words() {
        assert!(is_stop_word("what"));
        assert!(!is_stop_word("not"));
        assert!(!is_stop_word("no"));
        assert!(!is_stop_word("without"));
    }
}
