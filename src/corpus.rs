//! The corpus folder: finding its files, fingerprinting them, and parsing each
//! into a document of titled sections holding plain-text blocks with their
//! line ranges. Markdown goes through pulldown-cmark; plain text splits on
//! blank lines.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Error;

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
    /// First and last line in the file, 1-based, inclusive.
    pub lines: (u32, u32),
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
    pub blocks: Vec<Block>,
}

/// Paths of the corpus's documents (`.md`, `.txt`) and its synonym file, sorted.
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
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("md" | "markdown" | "txt")
    )
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

/// A corpus file read into memory, checked to be UTF-8.
pub struct SourceFile {
    pub stamp: FileStamp,
    pub text: String,
}

pub fn read_file(path: &Path) -> Result<SourceFile, Error> {
    let bytes = fs::read(path).map_err(|e| Error::read(path, e))?;
    let meta = fs::metadata(path).map_err(|e| Error::read(path, e))?;
    let sha256 = format!("{:x}", Sha256::digest(&bytes));
    let text = String::from_utf8(bytes).map_err(|e| Error::NotUtf8 {
        path: path.to_path_buf(),
        offset: e.utf8_error().valid_up_to(),
    })?;
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
        text,
    })
}

/// Forward slashes on every platform, so citations read the same everywhere.
fn display_path(path: &Path) -> String {
    let shown = path.strip_prefix("./").unwrap_or(path);
    shown.to_string_lossy().replace('\\', "/")
}

/// Parses one file by its extension.
pub fn parse(path: &str, text: &str) -> Document {
    if path.ends_with(".txt") {
        parse_text(path, text)
    } else {
        parse_markdown(path, text)
    }
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

fn parse_text(path: &str, text: &str) -> Document {
    let mut blocks = Vec::new();
    // Lines are numbered as they are read; a blank one (or the end) closes a paragraph.
    let mut paragraph: Vec<&str> = Vec::new();
    let mut first_line = 1;
    let lines = text.split_inclusive('\n').chain(std::iter::once(""));
    for (line, number) in lines.zip(1u32..) {
        if !line.trim().is_empty() {
            if paragraph.is_empty() {
                first_line = number;
            }
            paragraph.push(line);
        } else if !paragraph.is_empty() {
            let joined = collapse_space(paragraph.drain(..));
            if !joined.is_empty() {
                blocks.push(Block {
                    kind: BlockKind::Paragraph,
                    section: Vec::new(),
                    text: joined,
                    lines: (first_line, number - 1),
                });
            }
        }
    }
    Document {
        path: path.to_string(),
        title: fallback_title(path),
        title_from_name: true,
        meta: BTreeMap::new(),
        blocks,
    }
}

/// The words of `lines` joined by single spaces, built in one buffer.
fn collapse_space<'a>(lines: impl IntoIterator<Item = &'a str>) -> String {
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

/// What the Markdown walker is collecting text for.
struct Open {
    kind: BlockKind,
    text: String,
    start: usize,
    end: usize,
}

fn parse_markdown(path: &str, text: &str) -> Document {
    let lines = Lines::new(text);
    let mut meta = BTreeMap::new();
    let mut title: Option<String> = None;
    let mut section: Vec<String> = Vec::new();
    let mut blocks: Vec<Block> = Vec::new();

    let mut heading: Option<(HeadingLevel, String)> = None;
    let mut open: Option<Open> = None;
    let mut in_metadata = false;
    let mut quote_depth = 0usize;
    let mut item_depth = 0usize;
    let mut table_cells: Vec<String> = Vec::new();

    let flush = |open: &mut Option<Open>, blocks: &mut Vec<Block>, section: &[String]| {
        if let Some(o) = open.take() {
            let mut body = collapse_space([o.text.as_str()]);
            if o.kind == BlockKind::Caption {
                body = caption_text(&body);
            }
            if !body.is_empty() {
                blocks.push(Block {
                    kind: o.kind,
                    section: section.to_vec(),
                    text: body,
                    lines: lines.range(o.start, o.end),
                });
            }
        }
    };

    let options = Options::ENABLE_YAML_STYLE_METADATA_BLOCKS | Options::ENABLE_TABLES;
    for (event, range) in Parser::new_ext(text, options).into_offset_iter() {
        match event {
            Event::Start(Tag::MetadataBlock(_)) => in_metadata = true,
            Event::End(TagEnd::MetadataBlock(_)) => in_metadata = false,
            Event::Text(t) if in_metadata => {
                for line in t.lines() {
                    if let Some((key, value)) = line.split_once(':') {
                        let value = value.trim().trim_matches('"').replace("\\\"", "\"");
                        meta.insert(key.trim().to_lowercase(), value);
                    }
                }
            }
            Event::Start(Tag::Heading { level, .. }) => {
                flush(&mut open, &mut blocks, &section);
                heading = Some((level, String::new()));
            }
            Event::End(TagEnd::Heading(_)) => {
                if let Some((level, words)) = heading.take() {
                    let words = collapse_space([words.as_str()]);
                    if level == HeadingLevel::H1 && title.is_none() {
                        title = Some(words);
                        section.clear();
                    } else {
                        // `##` is the top of a section path; a deeper heading nests under it.
                        let depth = (level as usize).saturating_sub(2);
                        section.truncate(depth);
                        section.push(words);
                    }
                }
            }
            Event::Start(Tag::BlockQuote(_)) => {
                flush(&mut open, &mut blocks, &section);
                quote_depth += 1;
            }
            Event::End(TagEnd::BlockQuote(_)) => {
                quote_depth = quote_depth.saturating_sub(1);
                flush(&mut open, &mut blocks, &section);
            }
            Event::Start(Tag::Item) => {
                flush(&mut open, &mut blocks, &section);
                item_depth += 1;
                open = Some(Open {
                    kind: BlockKind::ListItem,
                    text: String::new(),
                    start: range.start,
                    // Grown by the item's text: the item's own range may take in a blank line.
                    end: range.start,
                });
            }
            Event::End(TagEnd::Item) => {
                item_depth = item_depth.saturating_sub(1);
                flush(&mut open, &mut blocks, &section);
            }
            Event::Start(Tag::Paragraph | Tag::CodeBlock(_)) => {
                let continues_caption =
                    quote_depth > 0 && open.as_ref().is_some_and(|o| o.kind == BlockKind::Caption);
                let in_item = item_depth > 0 && open.is_some();
                if continues_caption || in_item {
                    if let Some(o) = open.as_mut() {
                        // A figure's title line ends a sentence even without a full stop.
                        if continues_caption && !o.text.trim_end().ends_with(['.', '!', '?', ':']) {
                            o.text.push('.');
                        }
                        o.text.push(' ');
                    }
                } else {
                    flush(&mut open, &mut blocks, &section);
                    let is_caption = quote_depth > 0
                        && text[range.clone()]
                            .trim_start_matches(['>', ' '])
                            .starts_with("Figure:");
                    open = Some(Open {
                        kind: if is_caption {
                            BlockKind::Caption
                        } else {
                            BlockKind::Paragraph
                        },
                        text: String::new(),
                        start: range.start,
                        end: range.end,
                    });
                }
            }
            Event::End(TagEnd::Paragraph | TagEnd::CodeBlock) => {
                if let Some(o) = open.as_mut() {
                    o.end = o.end.max(range.end);
                }
                if quote_depth == 0 && item_depth == 0 {
                    flush(&mut open, &mut blocks, &section);
                }
            }
            Event::Start(Tag::Table(_)) => flush(&mut open, &mut blocks, &section),
            Event::Start(Tag::TableRow | Tag::TableHead) => {
                table_cells.clear();
                open = Some(Open {
                    kind: BlockKind::Paragraph,
                    text: String::new(),
                    start: range.start,
                    end: range.end,
                });
            }
            Event::End(TagEnd::TableCell) => {
                if let Some(o) = open.as_mut() {
                    o.text.push_str(" | ");
                }
            }
            Event::End(TagEnd::TableRow | TagEnd::TableHead) => {
                if let Some(o) = open.as_mut() {
                    o.text = o.text.trim_end_matches([' ', '|']).to_string();
                }
                flush(&mut open, &mut blocks, &section);
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some((_, words)) = heading.as_mut() {
                    words.push_str(&t);
                } else {
                    let o = open.get_or_insert_with(|| Open {
                        kind: BlockKind::Paragraph,
                        text: String::new(),
                        start: range.start,
                        end: range.end,
                    });
                    o.text.push_str(&t);
                    o.end = o.end.max(range.end);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some((_, words)) = heading.as_mut() {
                    words.push(' ');
                } else if let Some(o) = open.as_mut() {
                    o.text.push(' ');
                }
            }
            // HTML is markup, not article text.
            _ => {}
        }
    }
    flush(&mut open, &mut blocks, &section);

    let title = meta.get("title").cloned().or(title);
    Document {
        path: path.to_string(),
        title_from_name: title.is_none(),
        title: title.unwrap_or_else(|| fallback_title(path)),
        meta,
        blocks,
    }
}

/// "Figure: Title" then the caption → "Title. Caption", without the label.
fn caption_text(raw: &str) -> String {
    let body = raw.strip_prefix("Figure:").unwrap_or(raw).trim();
    body.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
