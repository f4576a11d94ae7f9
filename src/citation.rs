//! Citations a reader can follow, and the proof that they point at the
//! quoted words.
//!
//! A document with a web address gets links that open on the answer: the
//! address with a text fragment (`#:~:text=start,end`, the URL Fragment Text
//! Directives spec), which a browser scrolls to and highlights. [`check`]
//! proves a corpus's citations: each passage's words lie, in order, inside
//! the lines (or page) it cites, read from the file itself; each best
//! sentence lies inside its passage; and the fragment for each sentence, run
//! as a browser runs it over the page's text, selects that sentence.

use std::fmt;
use std::ops::Range;

use crate::corpus::{self, Document, Format};
use crate::passages::{self, Passage};
use crate::Error;

/// Sentences of up to twice this many words are quoted whole in a fragment;
/// longer ones by this many words at either end, or more where the page
/// opens an earlier sentence with the same words ([`fragment_edge`]).
pub const FRAGMENT_EDGE: u8 = 5;
/// The most words a fragment quotes at either end of a sentence.
const FRAGMENT_EDGE_MAX: u8 = 12;
/// The longest page (bytes of its text) whose passages' fragments are
/// measured against it. Each sentence is looked for from the page's top, as
/// a browser does, so the work grows with the square of the page: 3 MB of
/// text took 26 s to index, where a web page of 256 KB takes a fifth of a
/// second.
const PAGE_SEARCHED: usize = 256 * 1024;
/// Words of the text just before a sentence that a fragment requires there,
/// so that a sentence opening as another does ("This is the case, for
/// example, …") is found at its own place, not the first.
const FRAGMENT_PREFIX: usize = 3;

/// Marks a passage adds or a block keeps at a line's edge that a page need not show.
const EDGE_MARKS: &[char] = &['•', '|', ' ', '\t'];

/// What a text fragment quotes, each a slice of the passage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parts<'a> {
    prefix: Option<&'a str>,
    /// The prefix and the start are apart (not "!" and "= 0").
    spaced: bool,
    start: &'a str,
    end: Option<&'a str>,
}

/// `url` opening on the sentence at `sentence` in `text` (a passage): its
/// text fragment appended (after the page's own fragment, if it has one).
/// A browser without text fragments opens the page. `edge`: the passage's
/// [`fragment_edge`].
pub fn link(url: &str, text: &str, sentence: Range<usize>, edge: u8) -> String {
    match fragment(text, sentence, edge) {
        Some(directive) if url.contains('#') => format!("{url}:~:text={directive}"),
        Some(directive) => format!("{url}#:~:text={directive}"),
        None => url.to_string(),
    }
}

/// The `text=` directive's value for a passage's sentence:
/// `[prefix-,]start[,end]`, percent-encoded.
pub fn fragment(text: &str, sentence: Range<usize>, edge: u8) -> Option<String> {
    let parts = parts(text, sentence, edge)?;
    let mut out = String::new();
    if let Some(prefix) = parts.prefix {
        out.push_str(&encode(prefix));
        out.push_str("-,");
    }
    out.push_str(&encode(parts.start));
    if let Some(end) = parts.end {
        out.push(',');
        out.push_str(&encode(end));
    }
    Some(out)
}

/// The words a fragment quotes: the sentence's start, its end when it is
/// long or spans lines (a browser matches a lone start inside one block
/// only), and the words before it on its line; `edge` words at either end
/// (never fewer than [`FRAGMENT_EDGE`]).
fn parts(text: &str, sentence: Range<usize>, edge: u8) -> Option<Parts<'_>> {
    let edge = usize::from(edge.max(FRAGMENT_EDGE));
    let body = text.get(sentence.clone())?;
    let lines: Vec<&str> = body
        .lines()
        .map(|l| l.trim_matches(EDGE_MARKS))
        .filter(|l| !l.is_empty())
        .collect();
    let first = *lines.first()?;
    // A sentence's closing mark may be one a block never had (a caption's
    // title is given one): the words alone match either way.
    let last = lines
        .last()?
        .trim_end_matches(['.', '!', '?', ';', ':', ',']);
    let first = if lines.len() == 1 { last } else { first };
    if first.is_empty() {
        return None;
    }
    let before = text[..sentence.start]
        .rsplit('\n')
        .next()
        .unwrap_or_default();
    let spaced = before.ends_with(char::is_whitespace);
    let before = before.trim_matches(EDGE_MARKS);
    let prefix = (!before.is_empty()).then(|| cut_words(before, FRAGMENT_PREFIX, true));
    let words = |text: &str| text.split_whitespace().count();
    if lines.len() == 1 && words(first) <= 2 * edge {
        return Some(Parts {
            prefix,
            spaced,
            start: first,
            end: None,
        });
    }
    Some(Parts {
        prefix,
        spaced,
        start: cut_words(first, edge, false),
        end: Some(cut_words(last, edge, true)),
    })
}

/// The first (or last) `n` whitespace-separated words of `text`, as a slice of it.
fn cut_words(text: &str, n: usize, from_end: bool) -> &str {
    let bounds: Vec<(usize, usize)> = text
        .split_whitespace()
        .map(|w| {
            let start = w.as_ptr() as usize - text.as_ptr() as usize;
            (start, start + w.len())
        })
        .collect();
    if bounds.len() <= n {
        return text;
    }
    if from_end {
        &text[bounds[bounds.len() - n].0..]
    } else {
        &text[..bounds[n - 1].1]
    }
}

/// Percent-encoding for a directive's value: everything but ASCII letters,
/// digits and a few marks; `-`, `,` and `&`, which the syntax uses, always.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3 / 2);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"._~!$'()*+;=:@/?".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A text as a browser's find reads it: case folded, whitespace collapsed.
fn folded(text: &str) -> String {
    corpus::collapse_space([text.to_lowercase().as_str()])
}

/// A document's whole text as a browser finds in it at its address: the
/// page's visible text for HTML, the document's own text otherwise; folded.
pub struct Page(String);

impl Page {
    /// The page of `doc`, read from `bytes`, its file's.
    pub fn of(doc: &Document, bytes: &[u8]) -> Page {
        let text = match Format::of(std::path::Path::new(&doc.path)) {
            Some(Format::Html) => corpus::html_visible_text(&String::from_utf8_lossy(bytes)),
            _ => doc
                .blocks
                .iter()
                .map(|b| b.text.as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        };
        Page::from_text(&text)
    }

    pub fn from_text(text: &str) -> Page {
        Page(folded(text))
    }
}

/// The fewest words, from [`FRAGMENT_EDGE`] up, that fragments must quote at
/// a sentence's ends for every sentence of the passage `text` to be found
/// at its own place in `page`: where an earlier sentence opens with the same
/// words ("This is the case, for example, with …" before "This is the case,
/// for example, of …"), a browser would highlight from that one.
/// [`FRAGMENT_EDGE`] when no count up to the most will do, and on a page
/// longer than [`PAGE_SEARCHED`].
pub fn fragment_edge(page: &Page, text: &str) -> u8 {
    if page.0.len() > PAGE_SEARCHED {
        return FRAGMENT_EDGE;
    }
    let sentences = sentences(text);
    (FRAGMENT_EDGE..=FRAGMENT_EDGE_MAX)
        .find(|&edge| {
            sentences
                .iter()
                .all(|s| selects_itself(page, text, s.clone(), edge))
        })
        .unwrap_or(FRAGMENT_EDGE)
}

/// Whether the fragment for a sentence highlights its words, no more.
fn selects_itself(page: &Page, text: &str, sentence: Range<usize>, edge: u8) -> bool {
    let Some(quoted) = text.get(sentence.clone()) else {
        return false;
    };
    select(page, text, sentence, edge).map(|s| words(&s)) == Some(words(quoted))
}

/// Where the text fragment for a passage's sentence lands in `page`, as a
/// browser finds it: the first `start` on word boundaries (right after
/// `prefix`, if there is one), then the first `end` after it; the selected
/// text, folded.
pub fn select(page: &Page, text: &str, sentence: Range<usize>, edge: u8) -> Option<String> {
    let parts = parts(text, sentence, edge)?;
    let page = &page.0;
    let start = folded(parts.start);
    let from = match parts.prefix.map(folded) {
        Some(prefix) => {
            let gap = if parts.spaced { " " } else { "" };
            let both = find_word_bounded(page, &format!("{prefix}{gap}{start}"), 0)?;
            both.end - start.len()..both.end
        }
        None => find_word_bounded(page, &start, 0)?,
    };
    let to = match parts.end.map(folded) {
        Some(end) => find_word_bounded(page, &end, from.end)?.end,
        None => from.end,
    };
    Some(page[from.start..to].to_string())
}

fn find_word_bounded(page: &str, needle: &str, from: usize) -> Option<Range<usize>> {
    let is_word = |c: Option<char>| c.is_some_and(char::is_alphanumeric);
    let mut at = from;
    while let Some(i) = page.get(at..)?.find(needle) {
        let start = at + i;
        let end = start + needle.len();
        let before = page[..start].chars().next_back();
        let after = page[end..].chars().next();
        let splits_a_word = is_word(before) && is_word(needle.chars().next())
            || is_word(after) && is_word(needle.chars().next_back());
        if !splits_a_word {
            return Some(start..end);
        }
        at = start + needle.chars().next().map_or(1, char::len_utf8);
    }
    None
}

/// One citation that does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub file: String,
    pub place: String,
    pub problem: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}: {}", self.file, self.place, self.problem)
    }
}

/// What checking a corpus's citations found.
#[derive(Debug, Default)]
pub struct Report {
    pub passages: usize,
    /// Sentences whose text fragment was run over their page.
    pub fragments: usize,
    pub failures: Vec<Failure>,
    /// Documents that could not be read at all (they are not indexed either).
    pub skipped: Vec<String>,
}

impl fmt::Display for Report {
    /// A count line, then each failure and each document left unread, indented.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "citations: {} passage(s) and {} text fragment(s) checked, {} failed",
            self.passages,
            self.fragments,
            self.failures.len()
        )?;
        for failure in &self.failures {
            writeln!(f, "  {failure}")?;
        }
        for why in &self.skipped {
            writeln!(f, "  {why}")?;
        }
        Ok(())
    }
}

/// Checks every citation the corpus in `corpus_dir` gives, reading each
/// file anew, as the index does.
pub fn check(corpus_dir: &std::path::Path) -> Result<Report, Error> {
    let mut report = Report::default();
    for path in corpus::list_files(corpus_dir)? {
        let Some(format) = Format::of(&path) else {
            continue;
        };
        let source = corpus::read_file(&path)?;
        match check_file(&source.stamp.path, format, &source.bytes) {
            Ok(file) => {
                report.passages += file.passages;
                report.fragments += file.fragments;
                report.failures.extend(file.failures);
            }
            Err(e @ Error::Unreadable { .. }) => report.skipped.push(e.to_string()),
            Err(e) => return Err(e),
        }
    }
    Ok(report)
}

/// A document as the index reads it, with its citations checked.
pub struct Checked {
    pub document: Document,
    pub passages: Vec<Passage>,
    pub report: Report,
}

/// [`check`] for one file's bytes.
pub fn check_file(path: &str, format: Format, bytes: &[u8]) -> Result<Report, Error> {
    check_document(path, format, bytes).map(|checked| checked.report)
}

/// Reads a file's bytes as the index does, splits it into passages and
/// checks each one's citation; the file is read (a PDF extracted) once.
pub fn check_document(path: &str, format: Format, bytes: &[u8]) -> Result<Checked, Error> {
    let source = Source::read(path, format, bytes)?;
    let doc = match &source {
        Source::Pages(pages) => corpus::pdf_document(path, pages),
        Source::Lines { .. } => corpus::parse(path, bytes)?,
    };
    let split = passages::split(&doc);
    // Only a document with an address has fragments to run over its page.
    let page = doc.url.is_some().then(|| Page::of(&doc, bytes));
    let mut report = Report {
        passages: split.len(),
        ..Report::default()
    };
    for passage in &split {
        let fail = |problem: String| Failure {
            file: path.to_string(),
            place: passage.citation.span.to_string(),
            problem,
        };
        let cited = source.cited(passage.citation.span.range());
        if !contains_words(&cited, &passage.text) {
            report.failures.push(fail(format!(
                "the passage \"{}\" is not in the text it cites",
                preview(&passage.text)
            )));
        }
        let Some(page) = &page else {
            continue;
        };
        // The edge the index stores for the passage, found the same way.
        let edge = fragment_edge(page, &passage.text);
        for sentence in shown_sentences(&passage.text) {
            report.fragments += 1;
            // The browser highlights from the start's first match to the
            // end's next one: right when that is the sentence's words, no more.
            if !selects_itself(page, &passage.text, sentence.clone(), edge) {
                let selected = select(page, &passage.text, sentence.clone(), edge);
                report.failures.push(fail(format!(
                    "the text fragment for \"{}\" selects {}",
                    preview(&passage.text[sentence]),
                    selected.map_or("nothing".to_string(), |s| format!("\"{}\"", preview(&s)))
                )));
            }
        }
    }
    Ok(Checked {
        document: doc,
        passages: split,
        report,
    })
}

/// The start of a text, for a failure's message.
fn preview(text: &str) -> String {
    crate::render::cut(&corpus::collapse_space([text]), 70)
}

/// A passage's sentences as the answer path cuts them.
fn sentences(text: &str) -> Vec<Range<usize>> {
    crate::analysis::Analysed::of(text)
        .sentences
        .into_iter()
        .filter(|r| {
            text.get(r.clone())
                .is_some_and(|s| s.chars().any(char::is_alphanumeric))
        })
        .collect()
}

/// What the answer path can show of a passage as its best sentence: each
/// sentence, and a lead-in with the lines it introduces.
fn shown_sentences(text: &str) -> Vec<Range<usize>> {
    let all = sentences(text);
    let mut shown = all.clone();
    for sentence in &all {
        let with = passages::with_what_it_introduces(text, &all, sentence.clone());
        if with != *sentence {
            shown.push(with);
        }
    }
    shown
}

/// The words (letters and digits runs) of a text, lowercased.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether `needle`'s words appear, in order and together, among `hay`'s:
/// "word for word", whatever the markup, punctuation or spacing between them.
pub fn contains_words(hay: &str, needle: &str) -> bool {
    let (hay, needle) = (words(hay), words(needle));
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle.as_slice())
}

/// A file's text as a citation's numbers count it.
enum Source {
    /// Lines of a text, Markdown or HTML file, read as a reader sees them.
    Lines { lines: Vec<String>, format: Format },
    /// A PDF's pages.
    Pages(Vec<String>),
}

impl Source {
    fn read(path: &str, format: Format, bytes: &[u8]) -> Result<Source, Error> {
        Ok(match format {
            Format::Pdf => Source::Pages(corpus::pdf_pages(path, bytes)?),
            _ => Source::Lines {
                lines: String::from_utf8_lossy(bytes)
                    .split('\n')
                    .map(str::to_string)
                    .collect(),
                format,
            },
        })
    }

    /// The text of lines (or pages) `range`, markup read as a reader sees it.
    fn cited(&self, [first, last]: [u32; 2]) -> String {
        let pick = |all: &[String]| -> String {
            let (a, b) = (first.max(1) as usize - 1, last as usize);
            all.get(a..b.min(all.len())).unwrap_or_default().join("\n")
        };
        match self {
            Source::Pages(pages) => corpus::dehyphenate(&pick(pages)),
            Source::Lines { lines, format } => {
                let raw = pick(lines);
                match format {
                    Format::Html => corpus::html_visible_text(&raw),
                    Format::Markdown => corpus::markdown_text(&raw),
                    Format::Text | Format::Pdf => raw,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(text: &str) -> Option<String> {
        fragment(text, 0..text.len(), FRAGMENT_EDGE)
    }

    #[test]
    fn fragments_quote_short_sentences_whole_and_long_ones_by_their_ends() {
        assert_eq!(
            whole("Gene therapy, in short.").as_deref(),
            Some("Gene%20therapy%2C%20in%20short")
        );
        let long = "Gene therapy consists of introducing genetic material into cells in order to treat a disease.";
        assert_eq!(
            whole(long).as_deref(),
            Some("Gene%20therapy%20consists%20of%20introducing,order%20to%20treat%20a%20disease")
        );
        assert_eq!(
            link("https://x.org/p", "Short one.", 0..10, FRAGMENT_EDGE),
            "https://x.org/p#:~:text=Short%20one"
        );
        assert_eq!(
            link("https://x.org/p#top", "Short one.", 0..10, FRAGMENT_EDGE),
            "https://x.org/p#top:~:text=Short%20one"
        );
        // A sentence over two blocks: from the first's start to the last's end.
        assert_eq!(whole("• Lead-in\nitem").as_deref(), Some("Lead%2Din,item"));
        // Words before it on its line are its prefix; a table cell's bar is no word.
        let text = "It was the first. It works well.\n| Next cell";
        assert_eq!(
            fragment(text, 18..32, FRAGMENT_EDGE).as_deref(),
            Some("was%20the%20first.-,It%20works%20well")
        );
        assert_eq!(
            fragment(text, 33..44, FRAGMENT_EDGE).as_deref(),
            Some("Next%20cell")
        );
    }

    #[test]
    fn selection_is_word_bounded_case_blind_first_found_and_after_its_prefix() {
        let page = Page::from_text(
            "Nav   THERAPY. Gene therapyx no. Gene therapy works well here. B. Gene therapy works",
        );
        let page = &page;
        let whole = |s: &str| select(page, s, 0..s.len(), FRAGMENT_EDGE);
        assert_eq!(
            whole("Gene therapy works").as_deref(),
            Some("gene therapy works")
        );
        assert_eq!(whole("missing words").as_deref(), None);
        let text = "B. Gene therapy works";
        let at = select(page, text, 3..text.len(), FRAGMENT_EDGE).unwrap();
        assert_eq!(at, "gene therapy works");
        // Found after "B.", the last one on the page: a wrong prefix finds nothing.
        assert_eq!(
            select(page, "Z. Gene therapy works", 3..21, FRAGMENT_EDGE),
            None
        );
    }

    // Regression: the article's "This is the case, for example, of the vectors
    // derived from …" opened its line as an earlier sentence opens its own, and
    // its link highlighted everything from that earlier sentence on.
    #[test]
    fn a_sentence_opening_as_an_earlier_one_is_quoted_until_it_differs() {
        let earlier = "This is the case, for example, with CAR T cells in the domain of cancer.";
        let later =
            "This is the case, for example, of the vectors derived from adeno-associated virus, used in the eye.";
        let page = Page::from_text(&format!("{earlier}\nOther words.\n{later}"));
        let whole = 0..later.len();
        assert!(!selects_itself(&page, later, whole.clone(), FRAGMENT_EDGE));
        let edge = fragment_edge(&page, later);
        assert_eq!(edge, 7);
        assert!(selects_itself(&page, later, whole.clone(), edge));
        assert_eq!(
            fragment(later, whole, edge).as_deref(),
            Some(
                "This%20is%20the%20case%2C%20for%20example%2C%20of,\
                 from%20adeno%2Dassociated%20virus%2C%20used%20in%20the%20eye"
            )
        );
        // The earlier one needs no more than the usual words.
        assert_eq!(fragment_edge(&page, earlier), FRAGMENT_EDGE);
    }

    #[test]
    fn words_match_across_punctuation_and_spacing() {
        assert!(contains_words("a  gene\n therapy, b", "Gene - therapy"));
        assert!(!contains_words("gene x therapy", "gene therapy"));
        assert!(contains_words("anything", ""));
    }
}
