//! BERT's uncased WordPiece tokenizer, as the `tokenizers` library runs it for
//! all-MiniLM-L6-v2 (`BertNormalizer` with lowercasing and accent stripping,
//! `BertPreTokenizer`, `WordPiece` with `##` continuations). Written here so
//! the project needs neither that library's C regex engine nor its JSON
//! format: `vocab.txt` is all it reads. Checked token for token against the
//! Python library on the article and the outside question sets.

use unicode_general_category::{get_general_category, GeneralCategory as Cat};
use unicode_normalization::UnicodeNormalization;

use crate::FastMap;

/// A word longer than this (in characters) is one unknown token, as in BERT.
const MAX_WORD_CHARS: usize = 100;

pub struct WordPiece {
    vocab: FastMap<String, u32>,
    unknown: u32,
    pub start: u32,
    pub end: u32,
}

impl WordPiece {
    /// Reads `vocab.txt`: one token a line, its id the line number.
    pub fn from_vocab(text: &str) -> Result<Self, String> {
        let vocab: FastMap<String, u32> = text
            .lines()
            .enumerate()
            .map(|(i, token)| (token.to_string(), i as u32))
            .collect();
        let id = |token: &str| {
            vocab
                .get(token)
                .copied()
                .ok_or_else(|| format!("the vocabulary lacks {token}"))
        };
        Ok(WordPiece {
            unknown: id("[UNK]")?,
            start: id("[CLS]")?,
            end: id("[SEP]")?,
            vocab,
        })
    }

    /// The ids of `text`, between `[CLS]` and `[SEP]`, at most `max` in all.
    pub fn encode(&self, text: &str, max: usize) -> Vec<u32> {
        let mut ids = vec![self.start];
        let budget = max.saturating_sub(1).max(1);
        'words: for word in pre_tokenize(&normalize(text)) {
            for id in self.word_pieces(&word) {
                if ids.len() >= budget {
                    break 'words;
                }
                ids.push(id);
            }
        }
        ids.push(self.end);
        ids
    }

    /// Greedy longest-match-first pieces of one word; an unsplittable word is one unknown.
    fn word_pieces(&self, word: &str) -> Vec<u32> {
        if word.chars().count() > MAX_WORD_CHARS {
            return vec![self.unknown];
        }
        let mut pieces = Vec::new();
        let mut start = 0;
        let mut piece = String::new();
        while start < word.len() {
            let mut end = word.len();
            let found = loop {
                piece.clear();
                if start > 0 {
                    piece.push_str("##");
                }
                piece.push_str(&word[start..end]);
                if let Some(&id) = self.vocab.get(piece.as_str()) {
                    break Some(id);
                }
                match word[start..end].char_indices().next_back() {
                    Some((last, _)) if last > 0 => end = start + last,
                    _ => break None,
                }
            };
            match found {
                Some(id) => pieces.push(id),
                None => return vec![self.unknown],
            }
            start = end;
        }
        pieces
    }
}

/// `BertNormalizer`: drop control characters, spaces for whitespace, CJK
/// characters set apart, accents stripped, lowercase.
fn normalize(text: &str) -> String {
    let mut cleaned = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\0' || c == '\u{fffd}' || is_control(c) {
            continue;
        }
        if is_whitespace(c) {
            cleaned.push(' ');
        } else if is_cjk(c) {
            cleaned.push(' ');
            cleaned.push(c);
            cleaned.push(' ');
        } else {
            cleaned.push(c);
        }
    }
    if cleaned.is_ascii() {
        cleaned.make_ascii_lowercase();
        return cleaned;
    }
    cleaned
        .nfd()
        .filter(|&c| get_general_category(c) != Cat::NonspacingMark)
        .flat_map(char::to_lowercase)
        .collect()
}

/// `BertPreTokenizer`: split at whitespace, and each punctuation mark a word of its own.
fn pre_tokenize(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_whitespace() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
        } else if is_punctuation(c) {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            words.push(c.to_string());
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

fn is_whitespace(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || c.is_whitespace()
}

fn is_control(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r')
        && matches!(
            get_general_category(c),
            Cat::Control | Cat::Format | Cat::Unassigned | Cat::PrivateUse | Cat::Surrogate
        )
}

fn is_punctuation(c: char) -> bool {
    c.is_ascii_punctuation()
        || matches!(
            get_general_category(c),
            Cat::ConnectorPunctuation
                | Cat::DashPunctuation
                | Cat::ClosePunctuation
                | Cat::FinalPunctuation
                | Cat::InitialPunctuation
                | Cat::OtherPunctuation
                | Cat::OpenPunctuation
        )
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF
        | 0x3400..=0x4DBF
        | 0x20000..=0x2A6DF
        | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F
        | 0x2B820..=0x2CEAF
        | 0xF900..=0xFAFF
        | 0x2F800..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> WordPiece {
        let vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\ngene\n##s\ntherapy\n,\ncafe\nun\n##aff\n##able";
        WordPiece::from_vocab(vocab).unwrap()
    }

    #[test]
    fn words_split_into_known_pieces_and_unknowns() {
        let wp = tiny();
        // [CLS] gene ##s , therapy [UNK] [SEP]
        assert_eq!(wp.encode("Genes, THERAPY xyz", 64), [2, 4, 5, 7, 6, 1, 3]);
        assert_eq!(wp.encode("unaffable café", 64), [2, 9, 10, 11, 8, 3]);
    }

    #[test]
    fn long_input_is_cut_to_the_budget_with_its_end_marker() {
        let ids = tiny().encode(&"gene ".repeat(50), 8);
        assert_eq!(ids.len(), 8);
        assert_eq!((ids[0], ids[7]), (2, 3));
    }

    #[test]
    fn control_characters_vanish_and_cjk_stands_apart() {
        assert_eq!(normalize("a\u{0}b\u{200b}c\td"), "abc d");
        assert_eq!(pre_tokenize(&normalize("x中y")), ["x", "中", "y"]);
    }
}
