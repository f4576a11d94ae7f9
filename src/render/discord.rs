//! An answer as a Discord reply: embeds as plain data (the bot turns them
//! into serenity's builders), escaped so corpus text shows as written, and
//! cut to Discord's limits.

use serde::Serialize;

use super::{NOT_COVERED, USAGE_HINT};
use crate::answer::{Answer, Hit, Verdict};
use crate::passages::Citation;

/// Discord's limits on what one message may carry.
pub mod limits {
    pub const CONTENT: usize = 2000;
    pub const EMBEDS: usize = 10;
    pub const TITLE: usize = 256;
    pub const DESCRIPTION: usize = 4096;
    pub const FIELDS: usize = 25;
    pub const FIELD_NAME: usize = 256;
    pub const FIELD_VALUE: usize = 1024;
    pub const FOOTER: usize = 2048;
    pub const EMBEDS_TOTAL: usize = 6000;
    /// An embed's link: Discord's documented maximum for a URL.
    pub const URL: usize = 2048;
}

/// An embed as plain data; the bot turns it into Discord's builder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Embed {
    pub title: String,
    /// Where the title links: the cited document at the quoted words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub description: String,
    pub footer: String,
    pub fields: Vec<(String, String)>,
    pub color: u32,
}

impl Embed {
    /// Characters counted against the 6,000 per message.
    pub fn size(&self) -> usize {
        let count = |s: &str| s.chars().count();
        count(&self.title)
            + count(&self.description)
            + count(&self.footer)
            + self
                .fields
                .iter()
                .map(|(n, v)| count(n) + count(v))
                .sum::<usize>()
    }
}

/// A whole Discord reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reply {
    pub content: String,
    pub embeds: Vec<Embed>,
    /// Offer a "More passages" button.
    pub more: bool,
}

const ANSWER_COLOR: u32 = 0x2e86c1;
const NOT_COVERED_COLOR: u32 = 0x95a5a6;
/// Passages shown in the first reply: the best one and two more as fields.
pub const DISCORD_FIRST_PAGE: usize = 3;
/// Passages shown per "More passages" click.
pub const DISCORD_MORE_PAGE: usize = 3;

/// Escapes Discord Markdown so corpus text shows as written.
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if matches!(
            c,
            '\\' | '*' | '_' | '~' | '`' | '|' | '>' | '#' | '[' | ']' | '-' | '<' | '@'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `text` cut to at most `max` characters, at a sentence end if one is late
/// enough, else at a word, with an ellipsis.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let budget = max.saturating_sub(1);
    let end = text
        .char_indices()
        .nth(budget)
        .map_or(text.len(), |(i, _)| i);
    let head = &text[..end];
    // A sentence counts only when it is complete: punctuation or the end of a list line.
    let sentence_end = crate::analysis::sentences(head)
        .into_iter()
        .filter(|(_, s)| s.trim_end().ends_with(['.', '!', '?', ';']) || s.ends_with('\n'))
        .map(|(start, s)| start + s.trim_end().len())
        .rfind(|&e| e * 2 >= head.len());
    let cut_at = sentence_end
        .or_else(|| {
            head.rfind(char::is_whitespace)
                .filter(|&i| i * 2 >= head.len())
        })
        .unwrap_or(head.len());
    format!("{}…", head[..cut_at].trim_end())
}

/// The citation's address, if Discord will take it as an embed's link.
fn embed_url(citation: &Citation) -> Option<String> {
    citation.url.clone().filter(|u| {
        u.len() <= limits::URL && (u.starts_with("https://") || u.starts_with("http://"))
    })
}

fn citation_footer(citation: &Citation) -> String {
    cut(
        &format!(
            "{} › {} · {}{}",
            citation.document, citation.section, citation.file, citation.span
        ),
        limits::FOOTER,
    )
}

/// The passage as embed Markdown: best sentence underlined, matched words in bold,
/// everything else escaped. Cut at a sentence first when too long.
fn marked_up(hit: &Hit, max: usize) -> String {
    let text = &hit.passage.text;
    // Markup at most triples a character (escape) plus the markers; keep well inside `max`.
    let plain_budget = max / 3;
    let shown = cut(text, plain_budget);
    let visible = shown.trim_end_matches('…').len();
    let mut out = String::new();
    let mut at = 0;
    let best = hit.best_sentence.clone();
    let mut in_best = false;
    let mut boundaries: Vec<usize> = vec![best.start, best.end];
    for r in &hit.highlights {
        boundaries.push(r.start);
        boundaries.push(r.end);
    }
    boundaries.retain(|&b| b <= visible);
    boundaries.push(visible);
    boundaries.sort_unstable();
    boundaries.dedup();
    for b in boundaries {
        if b < at || !text.is_char_boundary(b) {
            continue;
        }
        let piece = &text[at..b];
        let bold = hit
            .highlights
            .iter()
            .any(|r| r.start <= at && b <= r.end && at < b);
        if at == best.start && best.start < best.end && !in_best {
            out.push_str("__");
            in_best = true;
        }
        if bold {
            out.push_str("**");
            out.push_str(&escape_markdown(piece));
            out.push_str("**");
        } else {
            out.push_str(&escape_markdown(piece));
        }
        at = b;
        if in_best && at >= best.end {
            // The marker must close on a non-space character.
            let trimmed = out.trim_end().len();
            out.insert_str(trimmed, "__");
            in_best = false;
        }
    }
    if in_best {
        out.push_str("__");
    }
    if shown.ends_with('…') {
        out.push('…');
    }
    out
}

/// A passage in a few lines, for the fields under the best one.
fn short_field(hit: &Hit) -> (String, String) {
    let name = cut(
        &format!(
            "{}. {}",
            hit.rank,
            escape_markdown(&hit.passage.citation.section)
        ),
        limits::FIELD_NAME,
    );
    let where_ = format!(
        "\n— {}{}",
        hit.passage.citation.file, hit.passage.citation.span
    );
    let where_ = escape_markdown(&where_).replace("\\\n", "\n");
    let room = limits::FIELD_VALUE.saturating_sub(where_.chars().count());
    let text = escape_markdown(&cut(&hit.passage.text, (room / 2).min(300)));
    (name, format!("{text}{where_}"))
}

/// The reply to a question: the best passage as the embed, the next two as fields.
pub fn discord_reply(answer: &Answer) -> Reply {
    let embed = match answer.verdict {
        Verdict::Greeting => Embed {
            title: "Hello!".into(),
            url: None,
            description: escape_markdown(USAGE_HINT),
            footer: String::new(),
            fields: Vec::new(),
            color: ANSWER_COLOR,
        },
        Verdict::Answered if !answer.hits.is_empty() => {
            let best = &answer.hits[0];
            let mut fields: Vec<(String, String)> = answer.hits[1..]
                .iter()
                .take(DISCORD_FIRST_PAGE - 1)
                .map(short_field)
                .collect();
            if !best.matched_terms.is_empty() {
                let terms = escape_markdown(&best.matched_terms.join(", "));
                fields.insert(0, ("Matched".into(), cut(&terms, limits::FIELD_VALUE)));
            }
            Embed {
                title: cut(
                    &escape_markdown(&best.passage.citation.section),
                    limits::TITLE,
                ),
                url: embed_url(&best.passage.citation),
                description: marked_up(best, limits::DESCRIPTION),
                footer: citation_footer(&best.passage.citation),
                fields,
                color: ANSWER_COLOR,
            }
        }
        _ => {
            let mut description = NOT_COVERED.to_string();
            if !answer.hints.is_empty() {
                let hints: Vec<String> = answer
                    .hints
                    .iter()
                    .map(|h| format!("• {}", escape_markdown(h)))
                    .collect();
                description.push_str("\nClosest sections:\n");
                description.push_str(&hints.join("\n"));
            }
            Embed {
                title: "Not covered".into(),
                url: None,
                description: cut(&description, limits::DESCRIPTION),
                footer: String::new(),
                fields: Vec::new(),
                color: NOT_COVERED_COLOR,
            }
        }
    };
    // A follow-up shows what it was taken to ask, so a wrong guess is seen.
    let understood = answer
        .understood_as
        .as_deref()
        .map(|u| format!("Understood as: {}", escape_markdown(u)));
    let content = [answer.notice.as_deref().map(escape_markdown), understood]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n");
    let content = cut(&content, limits::CONTENT);
    Reply {
        content,
        more: answer.answered() && answer.hits.len() > DISCORD_FIRST_PAGE,
        embeds: vec![embed],
    }
}

/// The passages after `from` (0-based), each as its own short embed.
pub fn discord_more(answer: &Answer, from: usize) -> Reply {
    let embeds: Vec<Embed> = answer
        .hits
        .iter()
        .skip(from)
        .take(DISCORD_MORE_PAGE)
        .map(|hit| Embed {
            title: cut(
                &format!(
                    "{}. {}",
                    hit.rank,
                    escape_markdown(&hit.passage.citation.section)
                ),
                limits::TITLE,
            ),
            url: embed_url(&hit.passage.citation),
            description: marked_up(hit, 1200),
            footer: citation_footer(&hit.passage.citation),
            fields: Vec::new(),
            color: ANSWER_COLOR,
        })
        .collect();
    let content = if embeds.is_empty() {
        "No more passages.".to_string()
    } else {
        String::new()
    };
    Reply {
        content,
        more: answer.answered() && answer.hits.len() > from + DISCORD_MORE_PAGE,
        embeds,
    }
}

/// Whether a reply keeps every Discord limit.
pub fn within_limits(reply: &Reply) -> Result<(), String> {
    let count = |s: &str| s.chars().count();
    let check = |what: &str, len: usize, max: usize| {
        if len > max {
            Err(format!("{what} has {len} characters, over {max}"))
        } else {
            Ok(())
        }
    };
    check("content", count(&reply.content), limits::CONTENT)?;
    if reply.embeds.len() > limits::EMBEDS {
        return Err(format!("{} embeds", reply.embeds.len()));
    }
    let mut total = 0;
    for e in &reply.embeds {
        check("title", count(&e.title), limits::TITLE)?;
        check("description", count(&e.description), limits::DESCRIPTION)?;
        check("footer", count(&e.footer), limits::FOOTER)?;
        if e.fields.len() > limits::FIELDS {
            return Err(format!("{} fields", e.fields.len()));
        }
        for (name, value) in &e.fields {
            check("field name", count(name), limits::FIELD_NAME)?;
            check("field value", count(value), limits::FIELD_VALUE)?;
        }
        total += e.size();
    }
    check("all embeds", total, limits::EMBEDS_TOTAL)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::BlockKind;
    use crate::passages::Passage;
    use proptest::prelude::*;

    fn hit(rank: usize, text: &str, section: &str, highlight: &[&str]) -> Hit {
        let highlights = highlight
            .iter()
            .filter_map(|w| text.find(w).map(|i| i..i + w.len()))
            .collect();
        let first_sentence = crate::analysis::sentences(text)
            .first()
            .map_or(0..text.len(), |(s, t)| *s..*s + t.trim_end().len());
        Hit {
            rank,
            score: 1.0,
            passage: Passage {
                ordinal: rank as u32,
                kind: BlockKind::Paragraph,
                text: text.to_string(),
                citation: Citation {
                    document: "Gene therapy".into(),
                    section: section.into(),
                    file: "corpus/gene-therapy.md".into(),
                    span: crate::passages::Span::Lines([10, 12]),
                    url: None,
                    fragment_edge: crate::citation::FRAGMENT_EDGE,
                },
            },
            best_sentence: first_sentence,
            highlights,
            matched_terms: highlight.iter().map(|w| w.to_lowercase()).collect(),
            coverage: 1.0,
            evidence: Default::default(),
        }
    }

    fn answer(hits: Vec<Hit>) -> Answer {
        Answer {
            question: "q".into(),
            verdict: Verdict::Answered,
            hits,
            hints: Vec::new(),
            notice: None,
            understood_as: None,
            leaned: false,
            known_share: 1.0,
            nearest_similarity: None,
            second_similarity: None,
            confidence: 1.0,
            objections: Vec::new(),
        }
    }

    #[test]
    fn a_cited_page_address_links_the_title_and_a_pdf_cites_its_page() {
        let mut best = hit(1, "Quoted words here.", "S", &[]);
        best.passage.citation.url = Some("https://x.org/p#:~:text=Quoted%20words%20here".into());
        let mut pdf = hit(2, "Other words.", "T", &[]);
        pdf.passage.citation.span = crate::passages::Span::Pages([3, 3]);
        pdf.passage.citation.file = "corpus/r.pdf".into();
        // Not an address Discord would take: no link rather than a failed reply.
        pdf.passage.citation.url = Some("javascript:alert(1)".into());
        let reply = discord_reply(&answer(vec![best, pdf.clone()]));
        assert_eq!(
            reply.embeds[0].url.as_deref(),
            Some("https://x.org/p#:~:text=Quoted%20words%20here")
        );
        assert!(reply.embeds[0]
            .fields
            .iter()
            .any(|(_, v)| v.contains("corpus/r.pdf p. 3")));
        let more = discord_more(&answer(vec![pdf]), 0);
        assert_eq!(more.embeds[0].url, None);
        assert!(more.embeds[0].footer.ends_with("corpus/r.pdf p. 3"));
    }

    #[test]
    fn markdown_in_the_corpus_is_escaped_and_pings_nobody() {
        let text = "Use *AAV* vectors_now: ~~old~~ `code` | spoiler || @everyone <@123> [link](http://x) # not a heading. Second sentence > quote.";
        let reply = discord_reply(&answer(vec![
            hit(1, text, "Vectors › *Non-viral*", &["AAV", "vectors"]),
            hit(2, "A second passage with **stars**.", "Other_section", &[]),
        ]));
        within_limits(&reply).unwrap();
        insta::assert_json_snapshot!(reply);
    }

    #[test]
    fn a_long_passage_is_cut_at_a_sentence_with_an_ellipsis() {
        let sentence = "Gene therapy delivers a healthy gene with a viral vector into the cells of the patient. ";
        let text = sentence.repeat(60);
        let mut hits = vec![hit(
            1,
            text.trim(),
            &"Long section ".repeat(40),
            &["vector"],
        )];
        for rank in 2..=12 {
            hits.push(hit(rank, text.trim(), "Next", &[]));
        }
        let reply = discord_reply(&answer(hits.clone()));
        within_limits(&reply).unwrap();
        let description = &reply.embeds[0].description;
        assert!(
            description.ends_with("patient.…"),
            "{}",
            &description[description.len() - 80..]
        );
        assert!(reply.more);
        insta::assert_json_snapshot!(reply);
        let more = discord_more(&answer(hits), 3);
        within_limits(&more).unwrap();
        assert_eq!(more.embeds.len(), DISCORD_MORE_PAGE);
    }

    proptest! {
        // Whatever the corpus holds, a reply keeps Discord's limits.
        #[test]
        fn replies_keep_discord_limits(texts in proptest::collection::vec("\\PC{0,3000}", 1..12), section in "\\PC{0,400}") {
            let hits: Vec<Hit> = texts
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let words: Vec<&str> = t.split_whitespace().take(2).collect();
                    hit(i + 1, t, &section, &words)
                })
                .collect();
            let a = answer(hits);
            prop_assert!(within_limits(&discord_reply(&a)).is_ok());
            prop_assert!(within_limits(&discord_more(&a, 3)).is_ok());
        }
    }
}
