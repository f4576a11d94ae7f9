//! Blocks → paragraph-sized passages with citations. A list stays with its
//! lead-in sentence when they fit together, a very short paragraph joins its
//! neighbour, and a long one is cut at sentence boundaries into even parts.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::corpus::{Block, BlockKind, Document};

/// Most words a passage may hold.
pub const MAX_WORDS: usize = 120;
/// Below this a paragraph is too thin to stand alone and joins its neighbour.
const MIN_WORDS: usize = 12;
/// List items are grouped up to this many words, so one passage is one idea.
const LIST_GROUP_WORDS: usize = 90;

/// Where a passage comes from, precisely enough for a reader to check it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Citation {
    pub document: String,
    /// Heading path, joined with " › "; the document title before the first heading.
    pub section: String,
    pub file: String,
    /// Where in `file`: its lines, or a PDF's pages.
    #[serde(flatten)]
    pub span: Span,
    /// The document's web address, if it has one; on an answer's passage,
    /// with a text fragment that opens it on the passage's best sentence.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub url: Option<String>,
    /// How many words a link's text fragment quotes at either end of a
    /// sentence (`citation::fragment_edge`), found when the index is built.
    #[serde(skip)]
    pub fragment_edge: u8,
}

/// A place in a file, 1-based and inclusive; JSON `"lines": [a, b]` or `"pages": [a, b]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Span {
    Lines([u32; 2]),
    Pages([u32; 2]),
}

impl Span {
    pub fn new(range: [u32; 2], paged: bool) -> Span {
        if paged {
            Span::Pages(range)
        } else {
            Span::Lines(range)
        }
    }

    pub fn range(self) -> [u32; 2] {
        match self {
            Span::Lines(r) | Span::Pages(r) => r,
        }
    }
}

impl std::fmt::Display for Span {
    /// `:12-14` after a file's name, or ` p. 3`, ` pp. 3-4`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Span::Lines([a, b]) => write!(f, ":{a}-{b}"),
            Span::Pages([a, b]) if a == b => write!(f, " p. {a}"),
            Span::Pages([a, b]) => write!(f, " pp. {a}-{b}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Passage {
    /// Position in its document, from 0.
    pub ordinal: u32,
    pub kind: BlockKind,
    /// Plain text, no Markdown.
    pub text: String,
    pub citation: Citation,
}

pub const SECTION_SEPARATOR: &str = " › ";

/// The words of `text` with their offsets: what `unicode_word_indices` gives,
/// through the faster ASCII path.
fn words(text: &str) -> impl Iterator<Item = (usize, &str)> {
    crate::analysis::word_bounds(text)
        .filter(|(_, segment)| segment.chars().any(char::is_alphanumeric))
}

pub fn word_count(text: &str) -> usize {
    if text.is_ascii() {
        return crate::analysis::ascii_word_count(text.as_bytes());
    }
    words(text).count()
}

/// A run of blocks that will become one passage, with each block's measure.
struct Group<'a, T> {
    blocks: Vec<&'a Block>,
    measures: Vec<T>,
    words: usize,
}

impl<'a, T> Group<'a, T> {
    fn new(block: &'a Block, words: usize, measure: T) -> Self {
        Group {
            words,
            blocks: vec![block],
            measures: vec![measure],
        }
    }

    fn fits(&self, words: usize, limit: usize) -> bool {
        self.words + words <= limit
    }

    fn push(&mut self, block: &'a Block, words: usize, measure: T) {
        self.words += words;
        self.blocks.push(block);
        self.measures.push(measure);
    }

    fn kind(&self) -> BlockKind {
        if self.blocks.iter().all(|b| b.kind == BlockKind::Caption) {
            BlockKind::Caption
        } else if self.blocks.iter().all(|b| b.kind == BlockKind::ListItem) {
            BlockKind::ListItem
        } else {
            BlockKind::Paragraph
        }
    }

    fn text(&self) -> String {
        let mut out = String::new();
        let mut previous: Option<&Block> = None;
        for &block in &self.blocks {
            if !out.is_empty() {
                // A line break keeps an unpunctuated line (a subtitle, a lead-in)
                // its own sentence, and code its lines.
                let ends_sentence = out.trim_end().ends_with(['.', '!', '?', ';', ':', '…']);
                let lines =
                    block.text.contains('\n') || previous.is_some_and(|p| p.text.contains('\n'));
                out.push_str(
                    if block.kind == BlockKind::ListItem || !ends_sentence || lines {
                        "\n"
                    } else {
                        " "
                    },
                );
            }
            if block.kind == BlockKind::ListItem {
                out.push_str(LIST_MARK);
            }
            out.push_str(&block.text);
            previous = Some(block);
        }
        out
    }
}

/// What opens a list item's line in a passage's text.
pub(crate) const LIST_MARK: &str = "• ";

/// Words a lead-in and the list lines it introduces may run to.
const LEAD_IN_WORDS: usize = 60;

/// `best`, and when it is a lead-in to a list ("Viral vectors are:") the
/// list's lines, as many as [`LEAD_IN_WORDS`] allow and the first always:
/// shown alone, a lead-in promises an answer and gives none. (A lead-in to
/// code stays alone: a code line is no answer either, and its words recur
/// on a page more than a sentence's.)
pub(crate) fn with_what_it_introduces(
    text: &str,
    sentences: &[Range<usize>],
    best: Range<usize>,
) -> Range<usize> {
    let words = |range: &Range<usize>| {
        text.get(range.clone())
            .map_or(0, |s| s.split_whitespace().count())
    };
    if !text.get(best.clone()).is_some_and(is_lead_in) {
        return best;
    }
    let mut shown = best.clone();
    let mut count = words(&best);
    for (i, next) in sentences.iter().filter(|s| s.start >= best.end).enumerate() {
        let listed = text
            .get(next.clone())
            .is_some_and(|s| s.starts_with(LIST_MARK));
        if !listed || (i > 0 && count + words(next) > LEAD_IN_WORDS) {
            break;
        }
        count += words(next);
        shown.end = next.end;
    }
    shown
}

/// Whether `text` introduces what follows it ("Viral vectors are:").
fn is_lead_in(text: &str) -> bool {
    text.trim_end().ends_with(':')
}

/// Cuts a document into passages.
pub fn split(doc: &Document) -> Vec<Passage> {
    split_measured(doc, |text| (word_count(text), ()))
        .into_iter()
        .map(|(passage, _)| passage)
        .collect()
}

/// [`split`], with each block read once by `measure`, which gives its word
/// count (as [`word_count`] does) and whatever else the caller needs of it:
/// the build analyses a block as it counts it, rather than walk its words twice.
/// A passage made of whole blocks comes with their measures, in order; a part
/// cut from a longer block with none.
pub fn split_measured<T>(
    doc: &Document,
    mut measure: impl FnMut(&str) -> (usize, T),
) -> Vec<(Passage, Option<Vec<T>>)> {
    let mut groups: Vec<Group<T>> = Vec::new();
    for block in &doc.blocks {
        let (words, measured) = measure(&block.text);
        let Some(last) = groups.last_mut() else {
            groups.push(Group::new(block, words, measured));
            continue;
        };
        let last_block = last.blocks[last.blocks.len() - 1];
        // A PDF's passage stays on one page, so its citation names one.
        let same_section = last_block.section == block.section
            && !block.gap
            && (!doc.paged || last_block.lines.1 == block.lines.0);
        let joins = same_section
            && match (last_block.kind, block.kind) {
                // An item follows its lead-in or the items before it.
                (BlockKind::Paragraph, BlockKind::ListItem) => {
                    is_lead_in(&last_block.text) && last.fits(words, MAX_WORDS)
                }
                (BlockKind::ListItem, BlockKind::ListItem) => last.fits(words, LIST_GROUP_WORDS),
                (BlockKind::Caption, _) | (_, BlockKind::Caption) => false,
                // A thin paragraph joins the next one, or takes in a thin one after
                // it, except a lead-in ("Viral vectors are:"), which opens the
                // passage of what it introduces.
                (BlockKind::Paragraph, BlockKind::Paragraph) => {
                    (last.words < MIN_WORDS || (words < MIN_WORDS && !is_lead_in(&block.text)))
                        && last.fits(words, MAX_WORDS)
                }
                _ => false,
            };
        if joins {
            last.push(block, words, measured);
        } else {
            groups.push(Group::new(block, words, measured));
        }
    }

    let mut passages = Vec::new();
    for group in groups {
        let first = group.blocks[0];
        let last = group.blocks[group.blocks.len() - 1];
        let section = if first.section.is_empty() {
            doc.title.clone()
        } else {
            first.section.join(SECTION_SEPARATOR)
        };
        let kind = group.kind();
        let lines = [first.lines.0, last.lines.1];
        let passage = |ordinal: usize, text: String| Passage {
            ordinal: u32::try_from(ordinal).unwrap_or(u32::MAX),
            kind,
            text,
            citation: Citation {
                document: doc.title.clone(),
                section: section.clone(),
                file: doc.path.clone(),
                span: Span::new(lines, doc.paged),
                url: doc.url.clone(),
                fragment_edge: crate::citation::FRAGMENT_EDGE,
            },
        };
        // A group over the limit is one long block (blocks join only when they
        // fit): its parts are new texts, for the caller to measure.
        if group.words <= MAX_WORDS {
            passages.push((passage(passages.len(), group.text()), Some(group.measures)));
        } else {
            for text in cut_long(&group.text(), group.words) {
                passages.push((passage(passages.len(), text), None));
            }
        }
    }
    passages
}

/// A text of `total` words, over [`MAX_WORDS`], cut at sentence boundaries
/// into parts of even size. A single sentence longer than the limit is cut between words.
fn cut_long(text: &str, total: usize) -> Vec<String> {
    // Each piece with its word count, counted once.
    let mut pieces: Vec<(&str, usize)> = Vec::new();
    for sentence in sentences_between_words(text) {
        let n = word_count(sentence);
        if n > MAX_WORDS {
            pieces.extend(word_chunks(sentence, MAX_WORDS));
        } else {
            pieces.push((sentence, n));
        }
    }
    let parts = total.div_ceil(MAX_WORDS);
    let target = total.div_ceil(parts);
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut words = 0;
    let mut carried = false;
    for (piece, n) in pieces {
        let mut over_target = words >= target || (words > 0 && words + n > MAX_WORDS);
        // "They comprise a viral vector", cut from the sentence naming "they",
        // answers nothing: one such sentence a part stays with the sentence before
        // it when both fit (once only, so that the parts stay near even).
        if over_target
            && !carried
            && words + n <= MAX_WORDS
            && crate::analysis::opens_with_reference(piece)
        {
            over_target = false;
            carried = true;
        }
        if over_target && !current.trim().is_empty() {
            out.push(current.trim().to_string());
            current.clear();
            words = 0;
            carried = false;
        }
        current.push_str(piece);
        words += n;
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

/// Sentences, joined back where a sentence boundary falls inside a word
/// ("vectors.ⴱdiac" is one word to the word splitter but two sentences), so a
/// cut between sentences never splits a word.
fn sentences_between_words(text: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    let mut start = 0;
    for offset in crate::analysis::sentence_starts(text) {
        if offset > start && text[..offset].ends_with(char::is_whitespace) {
            out.push(&text[start..offset]);
            start = offset;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Splits `text` into runs of at most `limit` words, keeping the text between
/// words; each run with its word count.
fn word_chunks(text: &str, limit: usize) -> Vec<(&str, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut count = 0;
    for (offset, _) in words(text) {
        if count == limit {
            out.push((&text[start..offset], count));
            start = offset;
            count = 0;
        }
        count += 1;
    }
    out.push((&text[start..], count));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::parse_str as parse;
    use proptest::prelude::*;
    use unicode_segmentation::UnicodeSegmentation;

    fn sentences(text: &str) -> Vec<Range<usize>> {
        crate::analysis::Analysed::of(text).sentences
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
    fn a_long_list_is_cut_after_its_first_line_and_others_stay_alone() {
        let item = format!("• {}.", vec!["word"; 50].join(" "));
        let text = format!("Two kinds:\n{item}\n{item}");
        let all = sentences(&text);
        let shown = with_what_it_introduces(&text, &all, all[0].clone());
        assert_eq!(&text[shown], format!("Two kinds:\n{item}"));
        // A plain sentence, and a lead-in to code rather than to a list.
        for alone in [
            "A sentence. Another one.",
            "It fails with this:\nld: cannot find -lc\n",
        ] {
            let all = sentences(alone);
            assert_eq!(with_what_it_introduces(alone, &all, all[0].clone()), all[0]);
        }
    }

    fn words_of(texts: impl IntoIterator<Item = String>) -> Vec<String> {
        texts
            .into_iter()
            .flat_map(|t| t.unicode_words().map(str::to_string).collect::<Vec<_>>())
            .collect()
    }

    #[test]
    fn code_after_a_thin_lead_in_starts_on_its_own_line() {
        let doc = parse(
            "a.md",
            "## S\n\nWhen run, it prints:\n\n```\n$ python3 x.py\nTrue\n```\n",
        );
        let p = split(&doc);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].text, "When run, it prints:\n$ python3 x.py\nTrue");
    }

    #[test]
    fn list_stays_with_its_lead_in() {
        let doc = parse("a.md", "## S\n\nViral vectors are:\n\n- integrative: one,\n- non-integrative: two.\n\nNext paragraph that is long enough to stand on its own as a passage here.\n");
        let p = split(&doc);
        assert_eq!(p.len(), 2);
        assert_eq!(
            p[0].text,
            "Viral vectors are:\n• integrative: one,\n• non-integrative: two."
        );
        assert_eq!(p[0].citation.span, Span::Lines([3, 6]));
        assert_eq!(p[0].citation.section, "S");
    }

    #[test]
    fn a_lead_in_after_a_paragraph_opens_the_passage_of_its_list() {
        // Regression: the thin lead-in joined the paragraph before it, and the
        // list was then cut in two when the second item no longer fitted.
        let long = "A paragraph about something else entirely, long enough. ".repeat(12);
        let doc = parse(
            "a.md",
            &format!("## S\n\n{long}\n\nViral vectors are:\n\n- integrative: one,\n- non-integrative: two.\n"),
        );
        let p = split(&doc);
        assert_eq!(p.len(), 2);
        assert_eq!(
            p[1].text,
            "Viral vectors are:\n• integrative: one,\n• non-integrative: two."
        );
    }

    #[test]
    fn a_cut_never_falls_inside_a_word() {
        // Found by the fuzzer: a sentence boundary inside "vectors.ⴱdiac".
        let text = format!(
            "{}end vectors.ⴱdiac tropism {}.",
            "word ".repeat(60),
            "word ".repeat(60)
        );
        let parts = cut_long(&text, word_count(&text));
        let words = |t: &str| t.unicode_words().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            words(&text),
            parts.iter().flat_map(|p| words(p)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn long_paragraph_is_cut_at_sentences_into_even_parts() {
        let sentence = "Each sentence here has exactly ten words in it now. ";
        let text = sentence.repeat(25);
        let parts = cut_long(text.trim(), word_count(text.trim()));
        assert_eq!(parts.len(), 3);
        for part in &parts {
            let n = word_count(part);
            assert!((70..=MAX_WORDS).contains(&n), "{n}");
            assert!(part.ends_with('.'));
        }
    }

    #[test]
    fn a_passage_of_whole_blocks_comes_with_their_measures() {
        let long = "A sentence of eight words, said once more. ".repeat(20);
        let doc = parse(
            "a.md",
            &format!(
                "## S\n\nViral vectors are:\n\n- integrative,\n- non-integrative.\n\n{long}\n"
            ),
        );
        let measured = split_measured(&doc, |text| (word_count(text), text.to_string()));
        let measures: Vec<_> = measured.iter().map(|(_, m)| m.clone()).collect();
        assert_eq!(
            measures[0],
            Some(vec![
                "Viral vectors are:".to_string(),
                "integrative,".to_string(),
                "non-integrative.".to_string()
            ])
        );
        // The long paragraph is cut in two: its parts come with no measure.
        assert_eq!(measures[1..], [None, None]);
        let passages: Vec<Passage> = measured.into_iter().map(|(p, _)| p).collect();
        assert_eq!(passages, split(&doc));
    }

    #[test]
    fn a_cut_keeps_a_sentence_opening_with_it_or_they_with_the_one_before() {
        // Regression: "They comprise a HIV-1 viral vector" opened a passage of its
        // own, apart from the sentence naming the two drugs it is about.
        let filler = "Each sentence here has exactly ten words in it now. ";
        let text = format!(
            "{}Two drugs were developed on this basis. They comprise a viral vector. {}",
            filler.repeat(7),
            filler.repeat(6)
        );
        let parts = cut_long(text.trim(), word_count(text.trim()));
        assert_eq!(parts.len(), 2);
        assert!(
            parts[0].ends_with("They comprise a viral vector."),
            "{parts:?}"
        );
        // Once a part: a run of such sentences is still cut near the even size
        // (84 words here), not filled up to the limit.
        let text = "It has ten words and it keeps on going now. ".repeat(25);
        let parts = cut_long(text.trim(), word_count(text.trim()));
        assert_eq!(parts.len(), 3);
        assert!(parts.iter().all(|p| word_count(p) <= 100), "{parts:?}");
    }

    proptest! {
        // Every word of the corpus lands in exactly one passage, in order.
        #[test]
        fn no_word_lost_or_duplicated(paras in proptest::collection::vec("[a-zA-Z ,.:]{0,900}", 0..12), list_every in 1usize..5) {
            let mut md = String::from("# T\n\n");
            for (i, p) in paras.iter().enumerate() {
                if i % list_every == 0 {
                    md.push_str(&format!("- {}\n\n", p.trim()));
                } else {
                    md.push_str(&format!("{}\n\n", p.trim()));
                }
                if i % 4 == 3 {
                    md.push_str("## Heading\n\n");
                }
            }
            let doc = parse("t.md", &md);
            let passages = split(&doc);
            let from_blocks = words_of(doc.blocks.iter().map(|b| b.text.clone()));
            let from_passages = words_of(passages.iter().map(|p| p.text.clone()));
            prop_assert_eq!(from_blocks, from_passages);
            for p in &passages {
                prop_assert!(word_count(&p.text) <= MAX_WORDS);
            }
        }
    }
}
