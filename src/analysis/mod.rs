//! Text analysis shared by indexing and querying: one function turns text into
//! folded words and English stems, so a question and a passage always meet on
//! the same terms. The index reads the result through its own tokenizer
//! ([`crate::index`]), so this layer knows nothing of tantivy.
//!
//! [`scan`] finds and stems words, [`sentences`] splits sentences and list
//! lines, [`terms`] gives an index build what it needs of a passage.

use std::ops::Range;
use std::sync::{Arc, OnceLock};

mod scan;
mod segment;
mod sentences;
mod terms;

use scan::{scan, Kind, FORMS};
pub use segment::{ascii_word_count, word_bounds, WordBounds};
use sentences::sentence_spans;
pub use sentences::{sentence_starts, sentences};
pub use terms::{index_terms, IndexTerms, WordRecorder};

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

/// Words that carry no content in a question. Negations are deliberately
/// absent: "does not modify" must keep its "not" (a contracted auxiliary,
/// "can't", "doesn't", is read as a word of its own, which names no subject
/// any more than "can" does). The frame of a question
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
does doesnt did didnt isnt arent wasnt werent cant wont couldnt shouldnt wouldnt hasnt havent hadnt \
theyre theyve theyll theyd youve youll youd weve itll itd thatll thatd \
get got getting tell explain describe please know \
thing things kind kinds way ways really actually exactly right now like much many lot lots anything \
something someone anyone everyone everybody anybody nobody ok okay use used using there's what's whats hows \
work works happen happens happened difference differences mean means type types sort sorts \
make makes made making give gives given giving";

#[cfg(test)]
mod tests {
    use super::scan::{scan_ascii, scan_segments, Scanned, FORM_TABLE_MAX};
    use super::*;
    use crate::FastMap;

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

    /// Asserts that every word of each text is a stop word.
    fn all_stop_words(texts: &[&str]) {
        for text in texts {
            let words = words(text);
            assert!(words.iter().all(|w| is_stop_word(w)), "{text}: {words:?}");
        }
    }

    // Regression: "can't" was read as the word "cant", a content word, and
    // carried into the next follow-up as part of the conversation's subject
    // ("how much was it? (can't, buy, glybera, …)"); "don't" already was one.
    #[test]
    fn contracted_auxiliaries_are_stop_words_as_their_auxiliaries_are() {
        all_stop_words(&[
            "don't",
            "can't",
            "won't",
            "couldn’t",
            "shouldn't",
            "haven't",
        ]);
    }

    // Regression (the eighth conversation set): "they're" was read as the
    // content word "theyre" and carried into the next follow-up ("are new
    // receptors in the works? (they're, lymphoma, …)"), as "they've",
    // "it'll" and the like would have been.
    #[test]
    fn contracted_pronouns_are_stop_words_as_their_pronouns_are() {
        all_stop_words(&[
            "they're",
            "they’ve",
            "they'll",
            "you've",
            "we've",
            "it'll",
            "that'd",
        ]);
    }

    #[test]
    fn negations_are_not_stop_words() {
        assert!(is_stop_word("what"));
        assert!(!is_stop_word("not"));
        assert!(!is_stop_word("no"));
        assert!(!is_stop_word("without"));
    }
}
