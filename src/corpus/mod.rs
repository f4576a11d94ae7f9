//! The corpus folder: finding its files, fingerprinting them, and parsing each
//! into a document of titled sections holding plain-text blocks with their
//! line (or page) ranges. One reader a format: Markdown goes through
//! pulldown-cmark, HTML through html5ever's tokenizer, PDF through
//! pdf-extract; plain text splits on blank lines.

mod html;
mod markdown;
mod pdf;
mod text;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Error;

// What the citation check reads a file with: the readers' own view of it.
pub(crate) use html::visible_text as html_visible_text;
pub(crate) use markdown::plain_text as markdown_text;
pub(crate) use pdf::{dehyphenate, document as pdf_document, pages as pdf_pages};

/// The file of lay ↔ medical equivalents kept beside the documents.
pub const SYNONYMS_FILE: &str = "synonyms.csv";

/// A corpus file as found on disk, before parsing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStamp {
    /// Path as shown in citations: the corpus folder as given, joined with the file's relative path.
    pub path: String,
    pub size: u64,
    pub modified_ns: u128,
    pub sha256: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockKind {
    Paragraph,
    ListItem,
    Caption,
}

/// A paragraph, list item or figure caption as plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub kind: BlockKind,
    /// Heading titles from `##` down; empty before the first one.
    pub section: Vec<String>,
    pub text: String,
    /// First and last line in the file, 1-based, inclusive; pages in a paged document.
    pub lines: (u32, u32),
    /// The reader left source text out just before this block (a menu, a
    /// contents line): a passage does not join it to the block before, or
    /// would quote as adjacent words that are not.
    pub gap: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub path: String,
    pub title: String,
    /// The text names no title (no front matter `title:`, no `#` heading):
    /// `title` was made from the file's name.
    pub title_from_name: bool,
    /// Front matter (`key: value` lines), e.g. publisher and credit.
    pub meta: BTreeMap<String, String>,
    /// Where a reader can open the document: front matter's `url:` (or a
    /// `source:` that is a web address), an HTML page's canonical link.
    pub url: Option<String>,
    /// Blocks are placed by page (a PDF), not by line.
    pub paged: bool,
    pub blocks: Vec<Block>,
}

impl Document {
    /// A document of `blocks` with nothing else known of it: titled by its file's name.
    fn untitled(path: &str, blocks: Vec<Block>) -> Document {
        Document {
            path: path.to_string(),
            title: fallback_title(path),
            title_from_name: true,
            meta: BTreeMap::new(),
            url: None,
            paged: false,
            blocks,
        }
    }
}

/// The formats the corpus reads, by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Markdown,
    Html,
    Pdf,
}

impl Format {
    pub fn of(path: &Path) -> Option<Format> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match extension.as_str() {
            "md" | "markdown" => Format::Markdown,
            "txt" => Format::Text,
            "html" | "htm" | "xhtml" => Format::Html,
            "pdf" => Format::Pdf,
            _ => return None,
        })
    }
}

/// Paths of the corpus's documents (see [`Format`]) and its synonym file, sorted.
pub fn list_files(corpus: &Path) -> Result<Vec<PathBuf>, Error> {
    if !corpus.is_dir() {
        return Err(Error::NoCorpus(corpus.to_path_buf()));
    }
    let mut found = Vec::new();
    let mut stack = vec![corpus.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| Error::read(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::read(&dir, e))?;
            let path = entry.path();
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let kind = entry.file_type().map_err(|e| Error::read(&path, e))?;
            if kind.is_dir() {
                stack.push(path);
            } else if is_document(&path) || name == SYNONYMS_FILE {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

pub fn is_document(path: &Path) -> bool {
    Format::of(path).is_some()
}

/// Size and modification time of each corpus file; cheap enough to run before every answer.
pub fn quick_stamps(corpus: &Path) -> Result<Vec<(PathBuf, FileStamp)>, Error> {
    list_files(corpus)?
        .into_iter()
        .map(|path| {
            let meta = fs::metadata(&path).map_err(|e| Error::read(&path, e))?;
            let modified_ns = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            let stamp = FileStamp {
                path: display_path(&path),
                size: meta.len(),
                modified_ns,
                sha256: String::new(),
            };
            Ok((path, stamp))
        })
        .collect()
}

/// A corpus file read into memory.
pub struct SourceFile {
    pub stamp: FileStamp,
    pub bytes: Vec<u8>,
}

impl SourceFile {
    /// The file as text, for the formats that must be UTF-8.
    pub fn text(&self) -> Result<&str, Error> {
        utf8(&self.stamp.path, &self.bytes)
    }
}

fn utf8<'a>(path: &str, bytes: &'a [u8]) -> Result<&'a str, Error> {
    std::str::from_utf8(bytes).map_err(|e| Error::NotUtf8 {
        path: PathBuf::from(path),
        offset: e.valid_up_to(),
    })
}

pub fn read_file(path: &Path) -> Result<SourceFile, Error> {
    let bytes = fs::read(path).map_err(|e| Error::read(path, e))?;
    let meta = fs::metadata(path).map_err(|e| Error::read(path, e))?;
    let sha256 = format!("{:x}", Sha256::digest(&bytes));
    let modified_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok(SourceFile {
        stamp: FileStamp {
            path: display_path(path),
            size: meta.len(),
            modified_ns,
            sha256,
        },
        bytes,
    })
}

/// Forward slashes on every platform, so citations read the same everywhere.
fn display_path(path: &Path) -> String {
    let shown = path.strip_prefix("./").unwrap_or(path);
    shown.to_string_lossy().replace('\\', "/")
}

/// Parses one file by its extension (Markdown if it has none citebot reads).
///
/// A Markdown or text file that is not UTF-8 is an error that stops the build:
/// it is the corpus owner's own text, to be saved again. An HTML page is read
/// in the encoding it declares. A PDF that cannot be read (damaged, encrypted,
/// scanned without a text layer) is [`Error::Unreadable`]: the build skips it
/// and names it, since its owner may not be able to fix it.
pub fn parse(path: &str, bytes: &[u8]) -> Result<Document, Error> {
    match Format::of(Path::new(path)).unwrap_or(Format::Markdown) {
        Format::Text => Ok(text::parse(path, utf8(path, bytes)?)),
        Format::Markdown => Ok(markdown::parse(path, utf8(path, bytes)?)),
        Format::Html => Ok(html::parse(path, bytes)),
        Format::Pdf => pdf::parse(path, bytes),
    }
}

/// [`parse`] on text known to be readable, for tests.
#[cfg(test)]
pub(crate) fn parse_str(path: &str, text: &str) -> Document {
    parse(path, text.as_bytes()).expect("a readable test document")
}

/// A web address, if `value` is one.
fn web_address(value: &str) -> Option<String> {
    let value = value.trim();
    let is_web = ["https://", "http://"].iter().any(|scheme| {
        value
            .get(..scheme.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(scheme))
    });
    (is_web && !value.contains(char::is_whitespace)).then(|| value.to_string())
}

fn fallback_title(path: &str) -> String {
    let stem = Path::new(path)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let spaced = stem.replace(['-', '_'], " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => path.to_string(),
    }
}

/// Maps byte offsets to 1-based line numbers.
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines(starts)
    }

    fn line_of(&self, offset: usize) -> u32 {
        let index = self.0.partition_point(|&start| start <= offset);
        u32::try_from(index.max(1)).unwrap_or(u32::MAX)
    }

    /// Lines of a byte range, not counting a trailing newline as a line of its own.
    fn range(&self, start: usize, end: usize) -> (u32, u32) {
        let last = end.saturating_sub(1).max(start);
        (self.line_of(start), self.line_of(last))
    }
}

/// Preformatted text (code) as it is laid out: its lines, each without
/// trailing space and with its indentation, no blank line at either end nor
/// two in a row. A comment ends at its line; run together with the code after
/// it, "# bind the socket serversocket.bind(...)" would read as one.
pub(crate) fn preformatted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = false;
    for line in text.lines().map(str::trim_end) {
        if line.is_empty() {
            blank = !out.is_empty();
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank { "\n\n" } else { "\n" });
        }
        blank = false;
        out.push_str(line);
    }
    out
}

/// The words of `lines` joined by single spaces, built in one buffer.
pub(crate) fn collapse_space<'a>(lines: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    let mut push = |word: &str| {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    };
    for line in lines {
        if line.is_ascii() {
            // The ASCII characters `char::is_whitespace` knows, found without decoding.
            let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\x0B' | b'\x0C' | b'\r');
            let bytes = line.as_bytes();
            let mut at = 0;
            while let Some(n) = bytes[at..].iter().position(|b| !space(b)) {
                let start = at + n;
                let end = bytes[start..]
                    .iter()
                    .position(space)
                    .map_or(bytes.len(), |n| start + n);
                // ASCII, so every byte is a character boundary.
                push(&line[start..end]);
                at = end;
            }
        } else {
            line.split_whitespace().for_each(&mut push);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::parse_str as parse;
    use super::*;
    use proptest::prelude::*;

    // Regression: code read from a `<pre>` or a Markdown code block was run
    // together into one line, its comments with the code after them.
    #[test]
    fn code_keeps_its_lines_and_indentation_and_a_markdown_block_is_read_so() {
        assert_eq!(
            preformatted("\n  # make one  \ns = socket()\n\n\n\nif s:\n    s.close()\n\n"),
            "  # make one\ns = socket()\n\nif s:\n    s.close()"
        );
        let doc = parse(
            "a.md",
            "# T\n\nFirst, a socket is made:\n\n```python\n# make one\ns = socket()\n```\n\n    indented()\n    code()\n",
        );
        let texts: Vec<&str> = doc.blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "First, a socket is made:",
                "# make one\ns = socket()",
                "indented()\ncode()"
            ]
        );
    }

    proptest! {
        #[test]
        fn collapsed_space_is_the_words_joined(
            lines in proptest::collection::vec("[a \t\r\n\x0B\x0C\x1F.é\u{A0}\u{85}\u{2003}]{0,12}", 0..5)
        ) {
            let words: Vec<&str> = lines.iter().flat_map(|l| l.split_whitespace()).collect();
            prop_assert_eq!(collapse_space(lines.iter().map(String::as_str)), words.join(" "));
        }
    }

    const SAMPLE: &str = "---\ntitle: Sample\npublisher: Inserm\n---\n\n# Sample\n\nIntro *words* here.\n\n## Part one\n\n### Sub\n\nLead-in:\n\n- first item\n- second\n  item\n\n> Figure: A chart\n>\n> What it shows.\n\n## Part two\n\nLast paragraph.\n";

    #[test]
    fn markdown_sections_blocks_and_lines() {
        let doc = parse("corpus/sample.md", SAMPLE);
        assert_eq!(doc.title, "Sample");
        assert_eq!(
            doc.meta.get("publisher").map(String::as_str),
            Some("Inserm")
        );
        let summary: Vec<_> = doc
            .blocks
            .iter()
            .map(|b| (b.kind, b.section.join(" > "), b.text.as_str(), b.lines))
            .collect();
        assert_eq!(
            summary,
            vec![
                (BlockKind::Paragraph, "".into(), "Intro words here.", (8, 8)),
                (
                    BlockKind::Paragraph,
                    "Part one > Sub".into(),
                    "Lead-in:",
                    (14, 14)
                ),
                (
                    BlockKind::ListItem,
                    "Part one > Sub".into(),
                    "first item",
                    (16, 16)
                ),
                (
                    BlockKind::ListItem,
                    "Part one > Sub".into(),
                    "second item",
                    (17, 18)
                ),
                (
                    BlockKind::Caption,
                    "Part one > Sub".into(),
                    "A chart. What it shows.",
                    (20, 22)
                ),
                (
                    BlockKind::Paragraph,
                    "Part two".into(),
                    "Last paragraph.",
                    (26, 26)
                ),
            ]
        );
    }

    #[test]
    fn plain_text_splits_on_blank_lines() {
        let blocks = |doc: &Document| -> Vec<(String, (u32, u32))> {
            doc.blocks
                .iter()
                .map(|b| (b.text.clone(), b.lines))
                .collect()
        };
        let doc = parse("notes/a-b.txt", "one\ntwo\n\n\nthree\n");
        assert_eq!(doc.title, "A b");
        assert_eq!(
            blocks(&doc),
            [("one two".into(), (1, 2)), ("three".into(), (5, 5))]
        );
        // Blank lines of spaces and tabs, CRLF, and a last line with no newline.
        let doc = parse("b.txt", "\n  \r\nfirst line\r\n  second\t line\n \t\nlast");
        assert_eq!(
            blocks(&doc),
            [
                ("first line second line".into(), (3, 4)),
                ("last".into(), (6, 6))
            ]
        );
    }

    #[test]
    fn odd_markdown_does_not_lose_text() {
        let doc = parse(
            "x.md",
            "no heading\n\n<div>html</div>\n\n| a | b |\n|---|---|\n| c | d |\n\n- > quoted item\n",
        );
        let texts: Vec<_> = doc.blocks.iter().map(|b| b.text.as_str()).collect();
        assert!(texts.contains(&"no heading"));
        assert!(texts.iter().any(|t| t.contains("c | d")));
        assert!(texts.iter().any(|t| t.contains("quoted item")));
    }
}
