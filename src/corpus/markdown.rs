//! Markdown through pulldown-cmark: front matter, `#` as the title, `##` and
//! deeper as the section path, list items, tables a row a block, and
//! `> Figure:` quotes as captions.

use std::collections::BTreeMap;

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};

use super::{
    collapse_space, fallback_title, preformatted, web_address, Block, BlockKind, Document, Lines,
};

/// What the Markdown walker is collecting text for.
struct Open {
    kind: BlockKind,
    /// A code block of its own: its line breaks are kept.
    code: bool,
    text: String,
    start: usize,
    end: usize,
}

impl Open {
    fn new(kind: BlockKind, start: usize, end: usize) -> Open {
        Open {
            kind,
            code: false,
            text: String::new(),
            start,
            end,
        }
    }
}

pub(super) fn parse(path: &str, text: &str) -> Document {
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
            let mut body = if o.code {
                preformatted(&o.text)
            } else {
                collapse_space([o.text.as_str()])
            };
            if o.kind == BlockKind::Caption {
                body = caption_text(&body);
            }
            if !body.is_empty() {
                blocks.push(Block {
                    kind: o.kind,
                    section: section.to_vec(),
                    text: body,
                    lines: lines.range(o.start, o.end),
                    gap: false,
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
                // Its end grows with the item's text: the item's own range may take in a blank line.
                open = Some(Open::new(BlockKind::ListItem, range.start, range.start));
            }
            Event::End(TagEnd::Item) => {
                item_depth = item_depth.saturating_sub(1);
                flush(&mut open, &mut blocks, &section);
            }
            Event::Start(tag @ (Tag::Paragraph | Tag::CodeBlock(_))) => {
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
                    let kind = if is_caption {
                        BlockKind::Caption
                    } else {
                        BlockKind::Paragraph
                    };
                    let mut block = Open::new(kind, range.start, range.end);
                    block.code = matches!(tag, Tag::CodeBlock(_)) && !is_caption;
                    open = Some(block);
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
                open = Some(Open::new(BlockKind::Paragraph, range.start, range.end));
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
                    let o = open.get_or_insert_with(|| {
                        Open::new(BlockKind::Paragraph, range.start, range.end)
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
    let url = ["url", "source"]
        .iter()
        .find_map(|key| meta.get(*key).and_then(|v| web_address(v)));
    Document {
        path: path.to_string(),
        title_from_name: title.is_none(),
        title: title.unwrap_or_else(|| fallback_title(path)),
        meta,
        url,
        paged: false,
        blocks,
    }
}

/// The text of a piece of Markdown as a reader sees it, markup dropped: what
/// a citation's lines are checked against.
pub(crate) fn plain_text(markdown: &str) -> String {
    let mut out = String::new();
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        match event {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak | Event::End(_) => out.push(' '),
            _ => {}
        }
    }
    out
}

/// "Figure: Title" then the caption → "Title. Caption", without the label.
fn caption_text(raw: &str) -> String {
    let body = raw.strip_prefix("Figure:").unwrap_or(raw).trim();
    body.to_string()
}
