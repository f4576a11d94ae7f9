//! Text analysis shared by indexing and querying: one function turns text into
//! folded words and English stems, so a question and a passage always meet on
//! the same terms. tantivy reads the result through [`PreAnalysedTokenizer`].

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use frostem::{Algorithm, Stemmer};
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

mod segment;
pub use segment::{ascii_word_count, word_bounds, WordBounds};

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

/// How a scanned word stands in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A word as written.
    Plain,
    /// The joined form of a hyphenated compound, stemmed like a word.
    Joined,
    /// The letters of a letters-then-digits word, kept as they are.
    Prefix,
}

/// One word found by [`scan`]; `word` is folded but not stemmed.
struct Scanned<'a> {
    start: usize,
    end: usize,
    position: u32,
    word: &'a str,
    kind: Kind,
}

/// Every (word, stem) pair a thread has met: each word is stemmed once per
/// thread, and the passages holding it share its strings instead of each
/// allocating copies. Per passage, `seen`/`form` say whether and where the
/// pair already sits in that passage's forms, so one lookup a word suffices.
struct FormTable {
    stemmer: Stemmer,
    /// The entry of each word: stemmed words, then kept ones (letter prefixes).
    forms: [hashbrown::HashTable<FormEntry>; 2],
    /// Counts analysed texts; an entry with another stamp is new to this text.
    stamp: u64,
    /// While a [`WordRecorder`] is open: the words of entries already emptied out.
    recorded: Option<Vec<Arc<str>>>,
}

struct FormEntry {
    word: Arc<str>,
    stem: Arc<str>,
    stem_key: u64,
    /// [`is_stop_word`] of the word, looked up once.
    stop: bool,
    seen: u64,
    form: usize,
}

/// Bounds a long-running process's table. A build of 100 MB meets about
/// 200,000 words, but a table half that size is faster (fewer cache misses
/// outweigh stemming the words it drops again).
const FORM_TABLE_MAX: usize = 100_000;

thread_local! {
    static FORMS: std::cell::RefCell<FormTable> = std::cell::RefCell::new(FormTable {
        stemmer: Stemmer::new(Algorithm::English),
        forms: Default::default(),
        stamp: 0,
        recorded: None,
    });
}

impl FormTable {
    /// Starts a new text; the table is emptied between texts once full.
    fn next_text(&mut self) -> u64 {
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
    fn record_words(&mut self) {
        if let Some(recorded) = &mut self.recorded {
            for table in &self.forms {
                recorded.extend(table.iter().map(|e| e.word.clone()));
            }
        }
    }

    fn entry(&mut self, w: &Scanned<'_>) -> &mut FormEntry {
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
fn scan(text: &str, emit: &mut dyn FnMut(Scanned<'_>)) -> usize {
    if text.is_ascii() {
        scan_ascii(text, emit)
    } else {
        scan_segments(text, emit)
    }
}

/// [`scan`], segment by segment.
fn scan_segments(text: &str, emit: &mut dyn FnMut(Scanned<'_>)) -> usize {
    let mut scanner = Scanner::new(emit);
    for (start, segment) in word_bounds(text) {
        scanner.segment(start, segment);
    }
    scanner.words
}

/// [`scan`] of an ASCII text (most text). Only words, `%` and `-` matter to
/// the analysis: any other run of spaces and marks is passed over byte by
/// byte, without making a segment of it.
fn scan_ascii(text: &str, emit: &mut dyn FnMut(Scanned<'_>)) -> usize {
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

/// Splits `text` into analysed tokens.
///
/// Beyond plain words it adds, at the same position: the joined form of a
/// hyphenated compound ("CAR-T" → also "cart"), and the letter part of a
/// letters-then-digits word ("AAV9" → also "aav"), so both spellings meet.
pub fn tokens(text: &str) -> Vec<Token> {
    FORMS.with(|table| {
        let mut table = table.borrow_mut();
        table.next_text();
        let mut out: Vec<Token> = Vec::new();
        scan(text, &mut |w| {
            out.push(Token {
                start: w.start,
                end: w.end,
                position: w.position,
                stem: table.entry(&w).stem.to_string(),
                word: w.word.to_string(),
                derived: w.kind != Kind::Plain,
            })
        });
        out
    })
}

/// The words of `tokens` as written (folded), without the extra forms:
/// what a question's phrasing is read from.
pub fn plain_words(tokens: &[Token]) -> Vec<&str> {
    tokens
        .iter()
        .filter(|t| !t.derived)
        .map(|t| t.word.as_str())
        .collect()
}

/// Lowercases, folds accents and Greek letters, drops possessives and inner
/// punctuation ("Leber’s" → "leber", "i.e" → "ie", "β" → "beta").
pub fn fold(segment: &str) -> String {
    let mut out = String::new();
    fold_into(segment, &mut out);
    out
}

/// [`fold`] into a buffer that is reused from word to word.
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

/// Where the sentences of `text` start (UAX #29, as `split_sentence_bound_indices`
/// gives them), line by line so that lines of ASCII and common Latin text take
/// the fast path: a line break always ends a sentence, so nothing is lost by
/// cutting there first.
pub fn sentence_starts(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        if segment::is_one_sentence(line) {
            out.push(line_start);
        } else if let Some(ends) = if line.is_ascii() {
            Some(segment::ascii_sentence_ends(line.as_bytes()))
        } else {
            segment::known_sentence_ends(line)
        } {
            out.push(line_start);
            let inner = ends.len().saturating_sub(1);
            out.extend(ends[..inner].iter().map(|end| line_start + end));
        } else {
            out.extend(
                line.split_sentence_bound_indices()
                    .map(|(offset, _)| line_start + offset),
            );
        }
        line_start += line.len();
    }
    out
}

/// Sentences with their byte offsets; list lines count as sentences too.
pub fn sentences(text: &str) -> Vec<(usize, &str)> {
    sentence_slices(text).collect()
}

fn sentence_slices(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let starts = sentence_starts(text);
    (0..starts.len())
        .map(move |i| {
            let end = starts.get(i + 1).copied().unwrap_or(text.len());
            (starts[i], &text[starts[i]..end])
        })
        .filter(|(_, sentence)| !sentence.trim().is_empty())
}

/// Byte ranges of the sentences and list lines of `text`, without surrounding space.
fn sentence_spans(text: &str) -> Vec<Range<usize>> {
    sentence_slices(text)
        .map(|(start, sentence)| {
            let trimmed = sentence.trim_end();
            let lead = trimmed.len() - trimmed.trim_start().len();
            start + lead..start + trimmed.len()
        })
        .collect()
}

/// A text analysed: its words and stems, where they stand, and its sentences;
/// what the re-ranker reads of a candidate passage. (An index build needs
/// less of a passage: [`index_terms`].)
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Analysed {
    /// Distinct (word, stem) pairs of the text, in order of first appearance.
    pub forms: Vec<(Arc<str>, Arc<str>)>,
    /// [`term_key`] of each form's stem, so matching a question compares numbers.
    pub stem_keys: Vec<u64>,
    pub tokens: Vec<Span>,
    /// Byte ranges of the sentences and list lines, without surrounding space.
    pub sentences: Vec<Range<usize>>,
}

/// A token of an [`Analysed`] text; `form` indexes `Analysed::forms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub position: u32,
    pub form: usize,
    pub derived: bool,
}

impl Analysed {
    pub fn of(text: &str) -> Analysed {
        FORMS.with(|table| {
            let mut table = table.borrow_mut();
            let stamp = table.next_text();
            // About one word in six bytes of English: one allocation each, not a series of growths.
            let words = text.len() / 6 + 1;
            let mut spans = Vec::with_capacity(words);
            let (mut forms, mut stem_keys) = (Vec::with_capacity(words), Vec::with_capacity(words));
            scan(text, &mut |w| {
                let entry = table.entry(&w);
                if entry.seen != stamp {
                    entry.seen = stamp;
                    entry.form = forms.len();
                    forms.push((entry.word.clone(), entry.stem.clone()));
                    stem_keys.push(entry.stem_key);
                }
                spans.push(Span {
                    start: w.start,
                    end: w.end,
                    position: w.position,
                    form: entry.form,
                    derived: w.kind != Kind::Plain,
                });
            });
            Analysed {
                forms,
                stem_keys,
                tokens: spans,
                sentences: sentence_spans(text),
            }
        })
    }

    pub fn stem(&self, span: &Span) -> &str {
        &self.forms[span.form].1
    }

    pub fn word(&self, span: &Span) -> &str {
        &self.forms[span.form].0
    }
}

/// FNV-1a: a cheap, stable 64-bit key for a term (equal keys are then checked as text).
pub fn term_key(term: &str) -> u64 {
    term.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// A `HashMap` with rustc's Fx hash: maps keyed by short words hash several
/// times faster with it than with the default (DoS-resistant) hasher. Corpus
/// words are not chosen by an attacker, and what a question adds is bounded
/// (its length is capped, the form table emptied when full).
pub type FastMap<K, V> = std::collections::HashMap<K, V, rustc_hash::FxBuildHasher>;

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
/// absent: "does not modify" must keep its "not". The frame of a question
/// ("how does X work", "what happens to X", "the difference between X and Y",
/// "what does X mean", "what types of X") names no subject either.
pub fn is_stop_word(word: &str) -> bool {
    static SET: OnceLock<std::collections::HashSet<&'static str, rustc_hash::FxBuildHasher>> =
        OnceLock::new();
    SET.get_or_init(|| STOP_WORDS.split_whitespace().collect())
        .contains(word)
}

/// The other way of writing a small number: "3" ↔ "iii", "viii" ↔ "8" (folded
/// words). Medical writing numbers phases, types and factors in Roman numerals
/// ("phase III", "factor IX") that people type as digits, and the reverse.
/// Single letters ("i", "v", "x") are left alone: they are mostly not numbers.
pub fn numeral_equivalent(word: &str) -> Option<String> {
    const ONES: [&str; 10] = ["", "i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix"];
    const TENS: [&str; 4] = ["", "x", "xx", "xxx"];
    let roman = |n: usize| format!("{}{}", TENS[n / 10], ONES[n % 10]);
    if word.bytes().all(|b| b.is_ascii_digit()) {
        let n: usize = word.parse().ok().filter(|n| (2..40).contains(n))?;
        Some(roman(n)).filter(|r| r.len() >= 2)
    } else if word.len() >= 2 && word.bytes().all(|b| matches!(b, b'i' | b'v' | b'x')) {
        (2..40).find(|&n| roman(n) == word).map(|n| n.to_string())
    } else {
        None
    }
}

/// Whether `sentence` opens with a word that points back at what came before
/// ("It", "These", "Such"), so that it means little on its own.
pub fn opens_with_reference(sentence: &str) -> bool {
    let first = word_bounds(sentence)
        .find(|(_, w)| w.chars().any(char::is_alphanumeric))
        .map_or("", |(_, w)| w);
    [
        "it", "its", "they", "them", "their", "this", "these", "those", "such", "he", "she", "his",
        "her", "both",
    ]
    .iter()
    .any(|r| first.eq_ignore_ascii_case(r))
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
something someone anyone use used using there's what's whats hows \
work works happen happens happened difference differences mean means type types sort sorts \
make makes made making give gives given giving";

/// What an index build needs of a passage: its stems for tantivy, and its length.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexTerms {
    /// The stems as one string for a field indexed with [`PreAnalysedTokenizer`]:
    /// a space moves to the next word, a `|` adds another form at the same place.
    /// tantivy then reuses this analysis instead of running its own.
    ///
    /// Stop words are left out: no question searches them, a passage's
    /// length in BM25 is then its length in content words (dev Hit@1 0.756
    /// → 0.769), and `the` is no longer a posting list as long as the corpus.
    pub stems: String,
    /// Words as passages are measured ([`crate::passages::word_count`]).
    pub words: usize,
    /// `stems` opens with an extra form (its words before were stop words),
    /// which follows another text's stems with a `|`, not a space.
    opens_with_extra_form: bool,
}

/// The words of `text` analysed as [`Analysed::of`] does, in one pass and
/// straight into [`IndexTerms`]: the build keeps no analysis (a passage read
/// to answer a question is analysed then), so it makes none.
pub fn index_terms(text: &str) -> IndexTerms {
    FORMS.with(|table| {
        let mut table = table.borrow_mut();
        table.next_text();
        let mut stems = String::with_capacity(text.len());
        let mut opens_with_extra_form = false;
        let words = scan(text, &mut |w| {
            let derived = w.kind != Kind::Plain;
            let entry = table.entry(&w);
            if !derived && entry.stop {
                return;
            }
            if !stems.is_empty() {
                stems.push(if derived { '|' } else { ' ' });
            } else {
                opens_with_extra_form = derived;
            }
            stems.push_str(&entry.stem);
        });
        IndexTerms {
            stems,
            words,
            opens_with_extra_form,
        }
    })
}

impl IndexTerms {
    /// The terms of texts joined by a line break or a space, which no word
    /// spans: theirs one after the other.
    pub fn join(parts: Vec<IndexTerms>) -> IndexTerms {
        let mut parts = parts.into_iter();
        let mut joined = parts.next().unwrap_or_default();
        for part in parts {
            if joined.stems.is_empty() {
                joined.opens_with_extra_form = part.opens_with_extra_form;
            } else if !part.stems.is_empty() {
                joined
                    .stems
                    .push(if part.opens_with_extra_form { '|' } else { ' ' });
            }
            joined.stems.push_str(&part.stems);
            joined.words += part.words;
        }
        joined
    }
}

/// Records every distinct word this thread analyses until [`WordRecorder::finish`]:
/// the corpus vocabulary of an index build. The form table already holds each
/// word once, so the words are taken from it (when it is emptied, and at the
/// end) rather than looked up again word by word.
pub struct WordRecorder {
    // Recording is per thread: the recorder must stay on the thread it started on.
    _on_this_thread: std::marker::PhantomData<*const ()>,
}

impl WordRecorder {
    pub fn start() -> WordRecorder {
        FORMS.with(|table| {
            let mut table = table.borrow_mut();
            // Words met before the recording are not the recording's.
            table.forms = Default::default();
            table.recorded = Some(Vec::new());
        });
        WordRecorder {
            _on_this_thread: std::marker::PhantomData,
        }
    }

    /// Each word recorded that `keep` keeps, once, in byte order. Sorted
    /// here, in the thread that recorded, so that the threads' lists only need merging.
    pub fn finish(self, keep: impl Fn(&str) -> bool) -> Vec<Arc<str>> {
        let recorded = FORMS.with(|table| {
            let mut table = table.borrow_mut();
            table.record_words();
            table.recorded.take().unwrap_or_default()
        });
        let mut words: Vec<(u64, Arc<str>)> = recorded
            .into_iter()
            .filter(|word| keep(word))
            .map(|word| (prefix_key(&word), word))
            .collect();
        // Most comparisons are settled by the numeric prefix, without reading the strings.
        words.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        // A word met again after the form table was emptied has a second string.
        words.dedup_by(|a, b| a.1 == b.1);
        words.into_iter().map(|(_, word)| word).collect()
    }
}

impl Drop for WordRecorder {
    fn drop(&mut self) {
        // A recorder dropped unfinished must not leave the thread recording.
        FORMS.with(|table| table.borrow_mut().recorded = None);
    }
}

/// The first eight bytes of `word`, zero-padded, as a number that sorts as the bytes do.
fn prefix_key(word: &str) -> u64 {
    let mut key = [0u8; 8];
    let n = word.len().min(8);
    key[..n].copy_from_slice(&word.as_bytes()[..n]);
    u64::from_be_bytes(key)
}

/// Reads [`IndexTerms::stems`] strings back into tokens. Their terms are alphanumeric, so the separators are unambiguous.
#[derive(Clone)]
pub struct PreAnalysedTokenizer;

impl tantivy::tokenizer::Tokenizer for PreAnalysedTokenizer {
    type TokenStream<'a> = PreAnalysedStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> PreAnalysedStream<'a> {
        PreAnalysedStream {
            text,
            at: 0,
            position: 0,
            token: tantivy::tokenizer::Token::default(),
        }
    }
}

/// Tokens read one at a time into one reused [`tantivy::tokenizer::Token`]:
/// indexing allocates nothing per token.
pub struct PreAnalysedStream<'a> {
    text: &'a str,
    at: usize,
    /// Position of the next token.
    position: usize,
    token: tantivy::tokenizer::Token,
}

impl tantivy::tokenizer::TokenStream for PreAnalysedStream<'_> {
    fn advance(&mut self) -> bool {
        let bytes = self.text.as_bytes();
        while self.at <= bytes.len() {
            let start = self.at;
            let end = bytes[start..]
                .iter()
                .position(|&b| b == b' ' || b == b'|')
                .map_or(bytes.len(), |i| start + i);
            self.at = end + 1;
            if end > start {
                let token = &mut self.token;
                token.text.clear();
                token.text.push_str(&self.text[start..end]);
                token.offset_from = start;
                token.offset_to = end;
                token.position = self.position;
                token.position_length = 1;
                // A `|` puts the next form at the same place; a space moves on.
                if bytes.get(end) != Some(&b'|') {
                    self.position += 1;
                }
                return true;
            }
        }
        false
    }

    fn token(&self) -> &tantivy::tokenizer::Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut tantivy::tokenizer::Token {
        &mut self.token
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
    fn small_numbers_are_written_both_ways() {
        let pairs = [
            ("3", "iii"),
            ("8", "viii"),
            ("9", "ix"),
            ("12", "xii"),
            ("39", "xxxix"),
        ];
        for (digits, roman) in pairs {
            assert_eq!(numeral_equivalent(digits).as_deref(), Some(roman));
            assert_eq!(numeral_equivalent(roman).as_deref(), Some(digits));
        }
        // One-letter numerals are mostly not numbers ("vitamin D", "X-linked", "I").
        for word in [
            "1", "5", "10", "i", "v", "x", "0", "40", "2026", "mix", "iiii", "vx", "gene",
        ] {
            assert_eq!(numeral_equivalent(word), None, "{word}");
        }
    }

    #[test]
    fn folds_case_accents_and_possessives() {
        assert_eq!(words("Leber’s Généthon"), ["leber", "genethon"]);
        assert_eq!(words("patient's cells"), ["patient", "cells"]);
    }

    #[test]
    fn sentences_leaning_on_the_one_before_are_recognised() {
        assert!(opens_with_reference("They comprise a HIV-1 viral vector."));
        assert!(opens_with_reference(
            "“This first strategy involves importing a gene."
        ));
        assert!(!opens_with_reference(
            "Theyre is not a word; Thistle is a plant."
        ));
        assert!(!opens_with_reference(
            "Two drugs were developed on this basis."
        ));
        assert!(!opens_with_reference(""));
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
    fn analysed_text_gives_its_words_and_sentences() {
        let text = "CAR-T cells, AAV9 and 65% of β-globin.\n• Leber’s item two";
        let analysed = Analysed::of(text);
        let words: Vec<&str> = analysed.tokens.iter().map(|t| analysed.word(t)).collect();
        assert_eq!(words, self::words(text));
        assert_eq!(
            analysed
                .sentences
                .iter()
                .map(|r| &text[r.clone()])
                .collect::<Vec<_>>(),
            [
                "CAR-T cells, AAV9 and 65% of β-globin.",
                "• Leber’s item two"
            ]
        );
    }

    /// What [`index_terms`] must give, worked out from [`Analysed::of`].
    fn index_terms_of(analysed: &Analysed) -> IndexTerms {
        let mut stems = String::new();
        let mut opens_with_extra_form = false;
        for token in &analysed.tokens {
            if !token.derived && is_stop_word(analysed.word(token)) {
                continue;
            }
            if !stems.is_empty() {
                stems.push(if token.derived { '|' } else { ' ' });
            } else {
                opens_with_extra_form = token.derived;
            }
            stems.push_str(analysed.stem(token));
        }
        let percent_sign = |t: &Span| t.end - t.start == 1 && analysed.word(t) == "percent";
        let words = analysed
            .tokens
            .iter()
            .filter(|t| !t.derived && !percent_sign(t))
            .count();
        IndexTerms {
            stems,
            words,
            opens_with_extra_form,
        }
    }

    #[test]
    fn index_terms_are_the_analysis_without_stop_words() {
        let text = "The CAR-T cells of 65% of patients: Leber’s AAV9, β-globin and the e.g. 3.5";
        let terms = index_terms(text);
        assert_eq!(terms, index_terms_of(&Analysed::of(text)));
        // "65%" is one word to a reader, though "percent" is indexed for it.
        assert_eq!(terms.words, 16);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        #[test]
        fn index_terms_agree_with_the_full_analysis(
            text in "([a-zA-Z0-9]{1,6}|the|of|%|-|’s|'s|β|é| |\\.|,|\n){0,30}"
        ) {
            proptest::prop_assert_eq!(index_terms(&text), index_terms_of(&Analysed::of(&text)));
        }

        #[test]
        fn ascii_text_scans_as_segment_by_segment(
            text in "([a-zA-Z0-9]{1,6}|the|%|-|--|_|'s|'| |  |\\.|,|:|\r\n|\n|[!-/]){0,30}"
        ) {
            type Scan = fn(&str, &mut dyn FnMut(Scanned<'_>)) -> usize;
            let scanned = |scan: Scan| {
                let mut out = Vec::new();
                let words = scan(&text, &mut |w| {
                    out.push((w.start, w.end, w.position, w.word.to_string(), w.kind));
                });
                (words, out)
            };
            proptest::prop_assert_eq!(scanned(scan_ascii), scanned(scan_segments));
        }

        #[test]
        fn joined_terms_are_the_terms_of_the_joined_text(
            parts in proptest::collection::vec(
                "([a-zA-Z0-9]{1,6}|the|all|in|of|%|-|’s|β|é|\u{301}| |\\.|,){0,12}", 1..4),
            space in proptest::bool::ANY,
        ) {
            let text = parts.join(if space { " " } else { "\n" });
            let joined = IndexTerms::join(parts.iter().map(|p| index_terms(p)).collect());
            proptest::prop_assert_eq!(joined, index_terms(&text));
        }
    }

    #[test]
    fn a_part_opening_with_an_extra_form_joins_as_one() {
        // "all" and "in" are stop words: "all-in" indexes only its joined form.
        let parts = ["gene therapy", "all-in"].map(index_terms);
        assert!(parts[1].opens_with_extra_form);
        let joined = IndexTerms::join(parts.to_vec());
        assert_eq!(joined.stems, "gene therapi|allin");
        assert_eq!(joined, index_terms("gene therapy\nall-in"));
    }

    #[test]
    fn pre_analysed_streams_give_back_the_content_stems_with_their_forms() {
        use tantivy::tokenizer::{TokenStream, Tokenizer};
        let stream = index_terms("The CAR-T cells deliver AAV9").stems;
        // Stop words ("the", the "t" of "CAR-T") are not indexed; extra forms stay with their word.
        assert_eq!(stream, "car|cart cell deliv aav9|aav");
        let mut tokenizer = PreAnalysedTokenizer;
        let mut tokens = tokenizer.token_stream(&stream);
        let mut got = Vec::new();
        while tokens.advance() {
            got.push((tokens.token().text.clone(), tokens.token().position as u32));
        }
        let expected = [
            ("car", 0),
            ("cart", 0),
            ("cell", 1),
            ("deliv", 2),
            ("aav9", 3),
            ("aav", 3),
        ];
        assert_eq!(
            got,
            expected.map(|(stem, position)| (stem.to_string(), position))
        );
        // Runs of separators add nothing, and nothing is left over at the end.
        let mut tokens = tokenizer.token_stream("  a||b  c ");
        let mut got = Vec::new();
        while tokens.advance() {
            got.push((tokens.token().text.clone(), tokens.token().position));
        }
        assert_eq!(got, [("a".into(), 0), ("b".into(), 0), ("c".into(), 1)]);
        assert!(!tokens.advance());
    }

    #[test]
    fn recorded_words_are_each_word_analysed_once() {
        std::thread::spawn(|| {
            Analysed::of("not recorded");
            let recorder = WordRecorder::start();
            // "aav" is both a word and the letter prefix of "aav9": one entry.
            Analysed::of("AAV and AAV9 deliver CAR-T cells");
            Analysed::of("cells, cells");
            let got: Vec<String> = recorder
                .finish(|_| true)
                .iter()
                .map(|w| w.to_string())
                .collect();
            let expected = ["aav", "aav9", "and", "car", "cart", "cells", "deliver", "t"];
            assert_eq!(got, expected);
            // Recording stopped with `finish`.
            Analysed::of("later");
            assert!(FORMS.with(|table| table.borrow().recorded.is_none()));
        })
        .join()
        .unwrap();
    }

    #[test]
    fn words_emptied_out_of_a_full_table_stay_recorded() {
        std::thread::spawn(|| {
            let recorder = WordRecorder::start();
            let text: String = (0..FORM_TABLE_MAX + 10).map(|i| format!("w{i} ")).collect();
            Analysed::of(&text);
            Analysed::of("final");
            let words = recorder.finish(|_| true);
            // Each "w…" word once, and "final".
            assert_eq!(words.len(), FORM_TABLE_MAX + 10 + 1);
        })
        .join()
        .unwrap();
    }

    /// The same analysis built the slow way, from [`tokens`], to check [`Analysed::of`].
    fn from_tokens(text: &str, tokens: &[Token]) -> Analysed {
        let mut forms: Vec<(Arc<str>, Arc<str>)> = Vec::new();
        let mut known: FastMap<(&str, &str), usize> = FastMap::default();
        let mut spans = Vec::with_capacity(tokens.len());
        for t in tokens {
            let form = *known
                .entry((t.word.as_str(), t.stem.as_str()))
                .or_insert_with(|| {
                    forms.push((Arc::from(t.word.as_str()), Arc::from(t.stem.as_str())));
                    forms.len() - 1
                });
            spans.push(Span {
                start: t.start,
                end: t.end,
                position: t.position,
                form,
                derived: t.derived,
            });
        }
        Analysed {
            stem_keys: forms.iter().map(|(_, stem)| term_key(stem)).collect(),
            forms,
            tokens: spans,
            sentences: sentence_spans(text),
        }
    }

    #[test]
    fn analysing_directly_equals_analysing_the_tokens() {
        for text in [
            "CAR-T cells, AAV9 and 65% of β-globin; CAR-T again, aav and AAV9.",
            "Days1 days day-to-day Leber’s LEBER's 1989-2017 i.e. e.g.",
        ] {
            // The same tokens with the same words and stems (forms may be numbered apart).
            let view = |a: &Analysed| {
                let tokens: Vec<_> = a
                    .tokens
                    .iter()
                    .map(|t| {
                        (
                            t.start,
                            t.end,
                            t.position,
                            t.derived,
                            a.word(t).to_string(),
                            a.stem(t).to_string(),
                        )
                    })
                    .collect();
                (tokens, a.sentences.clone())
            };
            assert_eq!(
                view(&Analysed::of(text)),
                view(&from_tokens(text, &tokens(text)))
            );
        }
    }

    #[test]
    fn question_frames_are_stop_words() {
        for word in ["work", "happens", "difference", "mean", "types"] {
            assert!(is_stop_word(word), "{word}");
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
