//! The word scanner under every analysis: finds words (UAX #29 word bounds,
//! with a fast path for ASCII), folds them, adds the extra forms of compounds
//! and letters-then-digits words, and stems each distinct word once per thread
//! in a table of forms the analyses share.

use std::sync::Arc;

use frostem::{Algorithm, Stemmer};
use unicode_normalization::UnicodeNormalization;

use super::segment::{self, word_bounds};
use super::{is_stop_word, term_key};

/// How a scanned word stands in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A word as written.
    Plain,
    /// The joined form of a hyphenated compound, stemmed like a word.
    Joined,
    /// The letters of a letters-then-digits word, kept as they are.
    Prefix,
}

/// One word found by [`scan`]; `word` is folded but not stemmed.
pub(super) struct Scanned<'a> {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) position: u32,
    pub(super) word: &'a str,
    pub(super) kind: Kind,
}

/// Every (word, stem) pair a thread has met: each word is stemmed once per
/// thread, and the passages holding it share its strings instead of each
/// allocating copies. Per passage, `seen`/`form` say whether and where the
/// pair already sits in that passage's forms, so one lookup a word suffices.
pub(super) struct FormTable {
    pub(super) stemmer: Stemmer,
    /// The entry of each word: stemmed words, then kept ones (letter prefixes).
    pub(super) forms: [hashbrown::HashTable<FormEntry>; 2],
    /// Counts analysed texts; an entry with another stamp is new to this text.
    pub(super) stamp: u64,
    /// While a [`super::WordRecorder`] is open: the words of entries already emptied out.
    pub(super) recorded: Option<Vec<Arc<str>>>,
}

pub(super) struct FormEntry {
    pub(super) word: Arc<str>,
    pub(super) stem: Arc<str>,
    pub(super) stem_key: u64,
    /// [`is_stop_word`] of the word, looked up once.
    pub(super) stop: bool,
    pub(super) seen: u64,
    pub(super) form: usize,
}

/// Bounds a long-running process's table. A build of 100 MB meets about
/// 200,000 words, but a table half that size is faster (fewer cache misses
/// outweigh stemming the words it drops again).
pub(super) const FORM_TABLE_MAX: usize = 100_000;

thread_local! {
    pub(super) static FORMS: std::cell::RefCell<FormTable> = std::cell::RefCell::new(FormTable {
        stemmer: Stemmer::new(Algorithm::English),
        forms: Default::default(),
        stamp: 0,
        recorded: None,
    });
}

impl FormTable {
    /// Starts a new text; the table is emptied between texts once full.
    pub(super) fn next_text(&mut self) -> u64 {
        if self
            .forms
            .iter()
            .map(hashbrown::HashTable::len)
            .sum::<usize>()
            >= FORM_TABLE_MAX
        {
            self.record_words();
            // Emptied, not replaced: the next texts fill it as far again, and
            // regrowing it from nothing rehashed every entry at each doubling.
            self.forms.iter_mut().for_each(hashbrown::HashTable::clear);
        }
        self.stamp += 1;
        self.stamp
    }

    /// Copies the table's words to the recording, if one is open.
    pub(super) fn record_words(&mut self) {
        if let Some(recorded) = &mut self.recorded {
            for table in &self.forms {
                recorded.extend(table.iter().map(|e| e.word.clone()));
            }
        }
    }

    pub(super) fn entry(&mut self, w: &Scanned<'_>) -> &mut FormEntry {
        let hash = word_hash(w.word);
        let [plain, prefix] = &mut self.forms;
        let (forms, others) = match w.kind {
            Kind::Prefix => (prefix, plain),
            _ => (plain, prefix),
        };
        let vacant = match forms.entry(hash, |e| *e.word == *w.word, |e| word_hash(&e.word)) {
            hashbrown::hash_table::Entry::Occupied(found) => return found.into_mut(),
            hashbrown::hash_table::Entry::Vacant(vacant) => vacant,
        };
        // Both kinds of a word share its string, stemmed or not.
        let word: Arc<str> = others
            .find(hash, |e| *e.word == *w.word)
            .map_or_else(|| Arc::from(w.word), |e| e.word.clone());
        let stem: Arc<str> = if w.kind == Kind::Prefix || w.word.chars().any(|c| c.is_ascii_digit())
        {
            word.clone()
        } else {
            Arc::from(self.stemmer.stem(w.word).as_ref())
        };
        vacant
            .insert(FormEntry {
                stem_key: term_key(&stem),
                stop: is_stop_word(w.word),
                word,
                stem,
                seen: 0,
                form: 0,
            })
            .into_mut()
    }
}

fn word_hash(word: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(word)
}

/// The word-finding part of the analysis, without stemming or allocation per
/// word: [`tokens`] and [`Analysed::of`] each decide what to keep. Returns how
/// many words `text` has as passages are measured (word segments with a
/// letter or digit: [`crate::passages::word_count`]).
pub(super) fn scan(text: &str, emit: &mut dyn FnMut(Scanned<'_>)) -> usize {
    if text.is_ascii() {
        scan_ascii(text, emit)
    } else {
        scan_segments(text, emit)
    }
}

/// [`scan`], segment by segment.
pub(super) fn scan_segments(text: &str, emit: &mut dyn FnMut(Scanned<'_>)) -> usize {
    let mut scanner = Scanner::new(emit);
    for (start, segment) in word_bounds(text) {
        scanner.segment(start, segment);
    }
    scanner.words
}

/// [`scan`] of an ASCII text (most text). Only words, `%` and `-` matter to
/// the analysis: any other run of spaces and marks is passed over byte by
/// byte, without making a segment of it.
pub(super) fn scan_ascii(text: &str, emit: &mut dyn FnMut(Scanned<'_>)) -> usize {
    let mut scanner = Scanner::new(emit);
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if let Some(end) = segment::ascii_word_at(bytes, at) {
            scanner.segment(at, &text[at..end]);
            at = end;
        } else {
            match bytes[at] {
                b'%' | b'-' => scanner.segment(at, &text[at..at + 1]),
                // Any other mark (no hyphen) only closes a compound.
                _ => scanner.mark(false, at),
            }
            at += 1;
        }
    }
    scanner.words
}

/// [`scan`]'s state from one segment of text to the next.
struct Scanner<'e> {
    emit: &'e mut dyn FnMut(Scanned<'_>),
    words: usize,
    position: u32,
    word: String,
    // The previous word, its start and end, for compound joins.
    previous: String,
    previous_span: Option<(usize, usize)>,
    hyphen_after_previous: bool,
    joined: String,
}

impl<'e> Scanner<'e> {
    fn new(emit: &'e mut dyn FnMut(Scanned<'_>)) -> Self {
        Scanner {
            emit,
            words: 0,
            position: 0,
            word: String::new(),
            previous: String::new(),
            previous_span: None,
            hyphen_after_previous: false,
            joined: String::new(),
        }
    }

    fn segment(&mut self, start: usize, segment: &str) {
        if segment == "%" {
            // "65%" is read as "65 percent", so "what percentage" can find it.
            (self.emit)(Scanned {
                start,
                end: start + 1,
                position: self.position,
                word: "percent",
                kind: Kind::Plain,
            });
            self.position += 1;
            self.previous_span = None;
            self.hyphen_after_previous = false;
        } else if !segment.chars().any(char::is_alphanumeric) {
            self.mark(matches!(segment, "-" | "\u{2010}" | "\u{2011}"), start);
        } else {
            self.word(start, segment);
        }
    }

    /// A segment with no letter or digit, starting at `start`.
    fn mark(&mut self, is_hyphen: bool, start: usize) {
        // A lone hyphen between two words keeps the compound open.
        self.hyphen_after_previous = is_hyphen
            && self.previous_span.is_some_and(|(_, end)| end == start)
            && !self.hyphen_after_previous;
        if !is_hyphen {
            self.previous_span = None;
        }
    }

    fn word(&mut self, start: usize, segment: &str) {
        self.words += 1;
        fold_into(segment, &mut self.word);
        if self.word.is_empty() {
            self.previous_span = None;
            return;
        }
        let end = start + segment.len();
        let position = self.position;
        (self.emit)(Scanned {
            start,
            end,
            position,
            word: &self.word,
            kind: Kind::Plain,
        });
        if self.hyphen_after_previous {
            if let Some((previous_start, _)) = self.previous_span {
                if is_alphabetic_word(&self.previous) && is_alphabetic_word(&self.word) {
                    self.joined.clear();
                    self.joined.push_str(&self.previous);
                    self.joined.push_str(&self.word);
                    (self.emit)(Scanned {
                        start: previous_start,
                        end,
                        position,
                        word: &self.joined,
                        kind: Kind::Joined,
                    });
                }
            }
        }
        if let Some(prefix) = letter_prefix(&self.word) {
            (self.emit)(Scanned {
                start,
                end,
                position,
                word: prefix,
                kind: Kind::Prefix,
            });
        }
        std::mem::swap(&mut self.previous, &mut self.word);
        self.previous_span = Some((start, end));
        self.hyphen_after_previous = false;
        self.position += 1;
    }
}

/// Lowercases, folds accents and Greek letters, drops possessives and inner
/// punctuation ("Leber’s" → "leber", "i.e" → "ie", "β" → "beta"), into a
/// buffer that is reused from word to word.
fn fold_into(segment: &str, out: &mut String) {
    out.clear();
    if segment.is_ascii() {
        // Most text: no accents or Greek to fold, so skip the Unicode decomposition.
        let bytes = segment.as_bytes();
        let keep = match bytes {
            [.., b'\'' | b'`', b's' | b'S'] => bytes.len() - 2,
            [.., b'\'' | b'`'] => bytes.len() - 1,
            _ => bytes.len(),
        };
        let kept = &segment[..keep];
        // Most words are letters and digits only: copied whole, then lowered in place.
        if kept.bytes().all(|b| b.is_ascii_alphanumeric()) {
            out.push_str(kept);
            out.make_ascii_lowercase();
        } else {
            out.extend(
                kept.bytes()
                    .filter(u8::is_ascii_alphanumeric)
                    .map(|b| char::from(b.to_ascii_lowercase())),
            );
        }
        return;
    }
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
    out.extend(trimmed.chars().filter(|c| c.is_alphanumeric()));
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
