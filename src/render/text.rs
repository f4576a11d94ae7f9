//! An answer for a terminal (coloured or plain), and the one-line form of batch mode.

use super::{citation_line, NOT_COVERED, USAGE_HINT};
use crate::answer::{Answer, Hit, Verdict};

/// How text output may decorate itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// ANSI bold and colour, for a terminal that wants them.
    pub color: bool,
}

const BOLD: &str = "\x1b[1m";
const MATCH: &str = "\x1b[1;33m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("{code}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
}

/// The passage text with matched words painted.
fn highlighted(hit: &Hit, style: Style) -> String {
    let text = &hit.passage.text;
    if !style.color {
        return text.clone();
    }
    let mut out = String::with_capacity(text.len() + hit.highlights.len() * 12);
    let mut at = 0;
    for range in &hit.highlights {
        let (Some(before), Some(word)) = (text.get(at..range.start), text.get(range.clone()))
        else {
            continue;
        };
        out.push_str(before);
        out.push_str(&style.paint(MATCH, word));
        at = range.end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    out
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|l| format!("{prefix}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The full answer for a terminal: best sentence, best passage, then the rest.
pub fn text(answer: &Answer, style: Style) -> String {
    let mut out = String::new();
    if let Some(notice) = &answer.notice {
        out.push_str(&format!("Note: {notice}\n\n"));
    }
    if let Some(understood) = &answer.understood_as {
        out.push_str(&format!("Understood as: {understood}\n\n"));
    }
    match answer.verdict {
        Verdict::Greeting => {
            out.push_str(&format!("Hello! {USAGE_HINT}\n"));
            return out;
        }
        Verdict::NotCovered => {
            out.push_str(NOT_COVERED);
            out.push('\n');
            if !answer.hints.is_empty() {
                out.push_str(&format!("Closest sections: {}\n", answer.hints.join("; ")));
            }
            return out;
        }
        Verdict::Answered => {}
    }
    let Some((best, rest)) = answer.hits.split_first() else {
        out.push_str(NOT_COVERED);
        out.push('\n');
        return out;
    };
    out.push_str(&format!(
        "» {}\n\n",
        style.paint(BOLD, best.best_sentence_text())
    ));
    out.push_str(&indent(&highlighted(best, style), "  "));
    out.push('\n');
    out.push_str(&format!(
        "  — {}\n",
        style.paint(DIM, &citation_line(&best.passage.citation))
    ));
    if !best.matched_terms.is_empty() {
        out.push_str(&format!("  matched: {}\n", best.matched_terms.join(", ")));
    }
    if !rest.is_empty() {
        out.push_str("\nMore passages:\n");
        for hit in rest {
            out.push_str(&format!("\n{}. ", hit.rank));
            out.push_str(indent(&highlighted(hit, style), "   ").trim_start());
            out.push('\n');
            out.push_str(&format!(
                "   — {}\n",
                style.paint(DIM, &citation_line(&hit.passage.citation))
            ));
        }
    }
    out
}

/// One line per answer, for batch mode and piped `chat` without `--json`;
/// a follow-up's opens with the question as understood.
pub fn batch_line(answer: &Answer) -> String {
    let line = match answer.verdict {
        Verdict::Answered => match answer.hits.first() {
            Some(hit) => format!(
                "{} [{}]",
                hit.best_sentence_text().replace('\n', " "),
                citation_line(&hit.passage.citation)
            ),
            None => format!("not covered: {NOT_COVERED}"),
        },
        Verdict::NotCovered => format!("not covered: {NOT_COVERED}"),
        Verdict::Greeting => USAGE_HINT.to_string(),
    };
    match &answer.understood_as {
        Some(understood) => format!("(understood as: {understood}) {line}"),
        None => line,
    }
}
