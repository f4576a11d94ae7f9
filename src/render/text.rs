//! An answer for a terminal (coloured or plain), and the one-line form of batch mode.

use super::{citation_line, NOT_COVERED, USAGE_HINT};
use crate::answer::{Answer, Hit, Verdict};
use crate::passages::Citation;

/// How text output may decorate itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    /// ANSI bold and colour, for a terminal that wants them.
    pub color: bool,
    /// Citations as OSC 8 hyperlinks to their source, for a terminal that
    /// opens them; else a cited source's address is printed under it.
    pub links: bool,
}

const BOLD: &str = "\x1b[1m";
const MATCH: &str = "\x1b[1;33m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

impl Style {
    /// The style for standard output: colour on a terminal unless `NO_COLOR`
    /// is set; hyperlinks where the terminal is known to open them (as the
    /// `supports-hyperlinks` convention reads the environment), or
    /// `FORCE_HYPERLINK=1`.
    pub fn detect(is_terminal: bool, env: &dyn Fn(&str) -> Option<String>) -> Style {
        let set = |name: &str| env(name).is_some_and(|v| !v.is_empty());
        let forced = env("FORCE_HYPERLINK").map(|v| v != "0");
        let known = set("WT_SESSION")
            || set("KONSOLE_VERSION")
            || set("DOMTERM")
            || env("VTE_VERSION")
                .and_then(|v| v.parse::<u32>().ok())
                .is_some_and(|v| v >= 5000)
            || env("TERM_PROGRAM").is_some_and(|p| {
                ["iTerm.app", "WezTerm", "vscode", "ghostty", "Hyper"].contains(&p.as_str())
            })
            || env("TERM").is_some_and(|t| {
                ["xterm-kitty", "alacritty", "foot", "xterm-ghostty"].contains(&t.as_str())
            });
        Style {
            color: is_terminal && !set("NO_COLOR"),
            links: forced.unwrap_or(is_terminal && known),
        }
    }

    /// `text`, opening `url` when clicked on a terminal that allows it.
    fn link(&self, text: &str, url: Option<&str>) -> String {
        match url {
            // The address is printed by the escape only: strip what could end it early.
            Some(url) if self.links => {
                let url: String = url.chars().filter(|c| !c.is_control()).collect();
                format!("\x1b]8;;{url}\x1b\\{text}\x1b]8;;\x1b\\")
            }
            _ => text.to_string(),
        }
    }

    /// The line that says where a passage comes from, with its link.
    fn cite(&self, citation: &Citation, indent: &str) -> String {
        let line = self.paint(DIM, &citation_line(citation));
        let mut out = format!("{indent}— {}\n", self.link(&line, citation.url.as_deref()));
        if let (Some(url), false) = (&citation.url, self.links) {
            out.push_str(&format!("{indent}  {url}\n"));
        }
        out
    }

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
    // A lead-in's headline runs over its list's lines: they line up under its first.
    out.push_str(&format!(
        "» {}\n\n",
        style.paint(BOLD, &best.best_sentence_text().replace('\n', "\n  "))
    ));
    out.push_str(&indent(&highlighted(best, style), "  "));
    out.push('\n');
    out.push_str(&style.cite(&best.passage.citation, "  "));
    if !best.matched_terms.is_empty() {
        out.push_str(&format!("  matched: {}\n", best.matched_terms.join(", ")));
    }
    if !rest.is_empty() {
        out.push_str("\nMore passages:\n");
        for hit in rest {
            out.push_str(&format!("\n{}. ", hit.rank));
            out.push_str(indent(&highlighted(hit, style), "   ").trim_start());
            out.push('\n');
            out.push_str(&style.cite(&hit.passage.citation, "   "));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn style(is_terminal: bool, vars: &[(&str, &str)]) -> Style {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Style::detect(is_terminal, &|name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn links_only_where_the_terminal_opens_them_or_they_are_asked_for() {
        assert_eq!(
            style(true, &[]),
            Style {
                color: true,
                links: false
            }
        );
        assert!(style(true, &[("TERM_PROGRAM", "WezTerm")]).links);
        assert!(style(true, &[("VTE_VERSION", "6800")]).links);
        assert!(!style(true, &[("VTE_VERSION", "4000")]).links);
        assert!(!style(false, &[("WT_SESSION", "x")]).links);
        assert!(style(false, &[("FORCE_HYPERLINK", "1")]).links);
        assert!(!style(true, &[("WT_SESSION", "x"), ("FORCE_HYPERLINK", "0")]).links);
        assert!(!style(true, &[("NO_COLOR", "1")]).color);
    }

    #[test]
    fn a_linked_citation_hides_the_escape_end_in_its_address() {
        let citation = Citation {
            document: "D".into(),
            section: "S".into(),
            file: "f.md".into(),
            span: crate::passages::Span::Lines([1, 2]),
            url: Some("https://x.org/\x1b\\evil".into()),
            fragment_edge: crate::citation::FRAGMENT_EDGE,
        };
        let linked = Style {
            color: false,
            links: true,
        }
        .cite(&citation, "");
        assert_eq!(
            linked,
            "— \x1b]8;;https://x.org/\\evil\x1b\\S · f.md:1-2\x1b]8;;\x1b\\\n"
        );
        let plain = Style {
            color: false,
            links: false,
        }
        .cite(&citation, "");
        assert!(
            plain.starts_with("— S · f.md:1-2\n  https://x.org/"),
            "{plain:?}"
        );
    }
}
