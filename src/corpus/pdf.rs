//! PDF through pdf-extract: each page's text layer, read into paragraphs
//! (runs of lines between blank ones) and list items (lines opening with a
//! bullet). Blocks are placed by page, so a citation reads `p. 12`. Words
//! hyphenated at a line's end are joined again; running headers and footers
//! (a page's first or last line, repeated at that edge on other pages, page
//! numbers aside) are dropped; numbered headings ("2.3 Simple parsing") make
//! the section path. A PDF without text is named, not guessed at: no OCR.

use std::collections::HashMap;
use std::path::PathBuf;

use super::{collapse_space, fallback_title, Block, BlockKind, Document};
use crate::Error;

/// Bigger PDFs are skipped: the reader holds a whole PDF in memory, several
/// times over once its streams are inflated.
pub const MAX_BYTES: usize = 256 << 20;

const BULLETS: &[char] = &['•', '◦', '▪', '‣', '●', '○', '■', '–', '-', '*'];

pub(super) fn parse(path: &str, bytes: &[u8]) -> Result<Document, Error> {
    let pages = pages(path, bytes)?;
    Ok(document(path, &pages))
}

/// The text layer of each page, as the extractor gives it.
pub(crate) fn pages(path: &str, bytes: &[u8]) -> Result<Vec<String>, Error> {
    let unreadable = |reason: String| Error::Unreadable {
        path: PathBuf::from(path),
        reason,
    };
    if bytes.len() > MAX_BYTES {
        return Err(unreadable(format!(
            "it is over {} MB, the most citebot reads of one PDF",
            MAX_BYTES >> 20
        )));
    }
    // pdf-extract panics on some damaged files: one file must not take the build down.
    let extracted = std::panic::catch_unwind(|| pdf_extract::extract_text_from_mem_by_pages(bytes))
        .map_err(|_| unreadable("the PDF reader failed on it (a damaged or unusual PDF)".into()))?;
    let pages = extracted.map_err(|e| unreadable(format!("it is not a readable PDF ({e})")))?;
    if pages.iter().all(|p| p.trim().is_empty()) {
        return Err(unreadable(
            "it has no text layer (scanned pages?): citebot does no OCR; run one (e.g. ocrmypdf) and index the result"
                .into(),
        ));
    }
    Ok(pages)
}

/// The document of a PDF's pages, as [`pages`] extracted them.
pub(crate) fn document(path: &str, pages: &[String]) -> Document {
    let pages: Vec<Vec<&str>> = pages
        .iter()
        .map(|text| text.lines().map(str::trim).collect())
        .collect();
    let furniture = running_lines(&pages);
    let mut blocks = Vec::new();
    let mut section: Vec<String> = Vec::new();
    let mut title = None;
    for (page, lines) in pages.iter().enumerate() {
        let number = u32::try_from(page + 1).unwrap_or(u32::MAX);
        let (first, last) = edges(lines);
        // Each line, or none where it is left out (a contents entry, a running
        // header or footer, a page number).
        let kept = lines.iter().enumerate().map(|(i, &line)| {
            let edge = Some(i) == first || Some(i) == last;
            let dropped = is_leader_line(line)
                || (edge && (is_page_number(line) || furniture.contains(&normalise(line))));
            (!dropped).then_some(line)
        });
        let mut paragraph: Vec<&str> = Vec::new();
        // Set when a line was left out; cleared by the block after it.
        let mut gap = false;
        let mut push = |paragraph: &mut Vec<&str>, section: &mut Vec<String>, gap: &mut bool| {
            if paragraph.is_empty() {
                return;
            }
            if title.is_none() {
                title = Some(paragraph[0].to_string());
            }
            if let [line] = paragraph.as_slice() {
                if let Some(depth) = heading_depth(line) {
                    section.truncate(depth);
                    section.push(collapse_space([*line]));
                    paragraph.clear();
                    return;
                }
            }
            for (kind, text) in items(paragraph) {
                blocks.push(Block {
                    kind,
                    section: section.clone(),
                    text,
                    lines: (number, number),
                    gap: std::mem::take(gap),
                });
            }
            paragraph.clear();
        };
        for line in kept {
            match line {
                Some("") => push(&mut paragraph, &mut section, &mut gap),
                Some(line) => paragraph.push(line),
                None => {
                    push(&mut paragraph, &mut section, &mut gap);
                    gap = true;
                }
            }
        }
        push(&mut paragraph, &mut section, &mut gap);
    }
    let title = title.filter(|t| t.split_whitespace().count() <= 12);
    Document {
        path: path.to_string(),
        title_from_name: title.is_none(),
        title: title.map_or_else(|| fallback_title(path), |t| collapse_space([t.as_str()])),
        meta: Default::default(),
        url: None,
        paged: true,
        blocks,
    }
}

/// A paragraph's lines as blocks: a line opening with a bullet starts a list item.
fn items(lines: &[&str]) -> Vec<(BlockKind, String)> {
    let mut out: Vec<(BlockKind, Vec<&str>)> = Vec::new();
    for line in lines {
        let bulleted = line
            .strip_prefix(BULLETS)
            .filter(|rest| rest.starts_with(char::is_whitespace));
        match (bulleted, out.last_mut()) {
            (Some(rest), _) => out.push((BlockKind::ListItem, vec![rest.trim_start()])),
            (None, Some((_, lines))) => lines.push(line),
            (None, None) => out.push((BlockKind::Paragraph, vec![line])),
        }
    }
    out.into_iter()
        .map(|(kind, lines)| {
            (
                kind,
                collapse_space([dehyphenate(&lines.join("\n")).as_str()]),
            )
        })
        .filter(|(_, text)| text.chars().any(char::is_alphanumeric))
        .collect()
}

/// Lines joined again where a word was hyphenated across them: "manip-\nulation".
pub(crate) fn dehyphenate(text: &str) -> String {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = String::with_capacity(text.len());
    let mut joined = false;
    for (i, line) in lines.iter().enumerate() {
        let line = if joined { line.trim_start() } else { line };
        let next_lower = lines
            .get(i + 1)
            .and_then(|next| next.trim_start().chars().next())
            .is_some_and(char::is_lowercase);
        let stem = line
            .trim_end()
            .strip_suffix('-')
            .filter(|stem| stem.chars().last().is_some_and(char::is_alphabetic));
        joined = next_lower && stem.is_some();
        match stem {
            Some(stem) if joined => out.push_str(stem),
            _ => {
                out.push_str(line);
                if i + 1 < lines.len() {
                    out.push('\n');
                }
            }
        }
    }
    out
}

/// A table-of-contents or index entry: a title, leader dots, a page number.
/// Navigation, as a page's menu is in HTML.
fn is_leader_line(line: &str) -> bool {
    line.contains(". . . .") || line.contains("....")
}

/// Indexes of a page's first and last non-blank lines.
fn edges(lines: &[&str]) -> (Option<usize>, Option<usize>) {
    (
        lines.iter().position(|l| !l.is_empty()),
        lines.iter().rposition(|l| !l.is_empty()),
    )
}

/// A line with its digits dropped and case folded: a running header keeps
/// this form from page to page while its page number changes.
fn normalise(line: &str) -> String {
    let kept: String = line
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .flat_map(char::to_lowercase)
        .collect();
    collapse_space([kept.as_str()])
}

fn is_page_number(line: &str) -> bool {
    let core = line.trim_matches(|c: char| c == '-' || c == '–' || c.is_whitespace());
    let core = core
        .strip_prefix("Page ")
        .or_else(|| core.strip_prefix("page "))
        .unwrap_or(core);
    !core.is_empty()
        && core.len() <= 8
        && (core
            .chars()
            .all(|c| c.is_ascii_digit() || c == '/' || c == ' ')
            || core.chars().all(|c| "ivxlcdm".contains(c)))
}

/// The normalised first and last lines that recur at the same edge of
/// several pages: three, or half the pages of a short document.
fn running_lines(pages: &[Vec<&str>]) -> Vec<String> {
    let needed = (pages.len() / 2).clamp(2, 3);
    let mut counts: HashMap<(bool, String), usize> = HashMap::new();
    for lines in pages {
        let (first, last) = edges(lines);
        for (top, index) in [(true, first), (false, last)] {
            if let Some(i) = index {
                let form = normalise(lines[i]);
                if !form.is_empty() {
                    *counts.entry((top, form)).or_default() += 1;
                }
            }
        }
    }
    counts
        .into_iter()
        .filter(|&(_, n)| n >= needed)
        .map(|((_, form), _)| form)
        .collect()
}

/// A numbered heading's depth ("2" → 0, "2.3" → 1, "A.1" → 1): a short line
/// led by a section number and a capitalised title, not a table-of-contents
/// entry (no leader dots, no page number at its end) nor a sentence.
fn heading_depth(line: &str) -> Option<usize> {
    let (number, title) = line.split_once(char::is_whitespace)?;
    let parts: Vec<&str> = number.trim_end_matches('.').split('.').collect();
    let first_ok = parts[0].len() <= 3 && parts[0].chars().all(|c| c.is_ascii_digit())
        || (parts.len() > 1
            && parts[0].len() == 1
            && parts[0].chars().all(|c| c.is_ascii_uppercase()));
    let rest_ok = parts[1..]
        .iter()
        .all(|p| !p.is_empty() && p.len() <= 3 && p.chars().all(|c| c.is_ascii_digit()));
    let title = title.trim();
    let words = title.split_whitespace().count();
    let last_word = title.split_whitespace().last().unwrap_or_default();
    let titled = title.chars().next().is_some_and(char::is_uppercase)
        && (1..=10).contains(&words)
        && !title.ends_with(['.', ',', ';', ':'])
        && !title.contains(". .")
        && !last_word.chars().all(|c| c.is_ascii_digit());
    (!parts[0].is_empty() && first_ok && rest_ok && titled).then(|| parts.len() - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(text: &str) -> String {
        text.to_string()
    }

    #[test]
    fn paragraphs_items_headings_and_running_lines() {
        let pages = [
            page("Report title\n\nIntro para one\nends here.\n\n1"),
            page("Chapter 1: Start 2\n\n1.1 First part\n\nA word hyphen-\nated here.\nList:\n• one\n• two\n\n2"),
            page("Chapter 1: Start 3\n\nMore text.\n\n3"),
            page("Chapter 1: Start 4\n\n2 Second part\n\nLast words.\n\n4"),
        ];
        let doc = document("r/report.pdf", &pages);
        assert_eq!(doc.title, "Report title");
        assert!(doc.paged);
        let summary: Vec<_> = doc
            .blocks
            .iter()
            .map(|b| (b.kind, b.section.join(" > "), b.text.as_str(), b.lines.0))
            .collect();
        assert_eq!(
            summary,
            vec![
                (BlockKind::Paragraph, String::new(), "Report title", 1),
                (
                    BlockKind::Paragraph,
                    String::new(),
                    "Intro para one ends here.",
                    1
                ),
                (
                    BlockKind::Paragraph,
                    "1.1 First part".into(),
                    "A word hyphenated here. List:",
                    2
                ),
                (BlockKind::ListItem, "1.1 First part".into(), "one", 2),
                (BlockKind::ListItem, "1.1 First part".into(), "two", 2),
                (
                    BlockKind::Paragraph,
                    "1.1 First part".into(),
                    "More text.",
                    3
                ),
                (
                    BlockKind::Paragraph,
                    "2 Second part".into(),
                    "Last words.",
                    4
                ),
            ]
        );
    }

    #[test]
    fn headings_are_numbered_short_and_capitalised() {
        assert_eq!(heading_depth("2 ASN.1 structure handling"), Some(0));
        assert_eq!(heading_depth("2.3 Simple parsing"), Some(1));
        assert_eq!(heading_depth("A.1 GNU Free Documentation License"), Some(1));
        assert_eq!(heading_depth("3 patients were treated"), None);
        assert_eq!(heading_depth("2.1 ASN.1 syntax. . . . . . 2"), None);
        assert_eq!(heading_depth("4 Function reference 8"), None);
        assert_eq!(heading_depth("2012 Annual Report"), None);
        assert_eq!(heading_depth("1. Introduction"), Some(0));
    }

    #[test]
    fn dehyphenation_joins_only_broken_words() {
        assert_eq!(dehyphenate("manip-\nulation ok"), "manipulation ok");
        assert_eq!(dehyphenate("well-\nKnown"), "well-\nKnown");
        assert_eq!(dehyphenate("a-\nb-\nc"), "abc");
        assert_eq!(dehyphenate("x -\ny"), "x -\ny");
    }

    #[test]
    fn damaged_and_empty_pdfs_are_named_errors() {
        for bytes in [&b"not a pdf"[..], b"%PDF-1.4\n%%EOF", b""] {
            let err = parse("c/bad.pdf", bytes).unwrap_err();
            assert!(err.to_string().contains("c/bad.pdf"), "{err}");
        }
    }
}
