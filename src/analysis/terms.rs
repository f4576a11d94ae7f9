//! What an index build takes of a text: its stems in one string, its length,
//! and the words it met (the spelling dictionary).

use std::sync::Arc;

use super::scan::{scan, Kind, FORMS};

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
    pub(super) opens_with_extra_form: bool,
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
