//! HTML through html5ever's tokenizer: a page's main content as blocks, the
//! way a reader sees it. Kept: headings as the section path, paragraphs,
//! list items, table rows, figure captions; `<h1>` (else `<title>`) as the
//! title and `<link rel=canonical>` as the document's address. Dropped, as
//! readability-style extractors drop them: scripts and styles, navigation,
//! page headers and footers, asides, forms, hidden elements, containers whose
//! class or id names them as such, and blocks that are mostly link text
//! (tables of contents, "next / previous" bars). Where the page marks its
//! content (`<main>`, `<article>`, `role=main`), only that is read.
//!
//! The tokenizer rather than a tree: it reports each token's line, which is
//! what a citation needs, and it streams, so a large page costs no DOM.

use std::borrow::Cow;
use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

use super::{
    collapse_space, fallback_title, preformatted, web_address, Block, BlockKind, Document,
};

/// Elements that start and end a block of text; the rest are inline.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "caption",
    "center",
    "dd",
    "details",
    "dialog",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "legend",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "ul",
];

/// Elements whose whole content is not the page's text.
const NOT_TEXT: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "math", "nav", "form", "button", "select",
    "textarea", "iframe", "object", "canvas", "dialog",
];

/// ARIA roles of page furniture.
const FURNITURE_ROLES: &[&str] = &[
    "navigation",
    "banner",
    "contentinfo",
    "complementary",
    "search",
    "menu",
    "menubar",
    "toolbar",
    "dialog",
];

/// Words in a container's class or id that mark it as furniture, and words
/// that mark it as content despite them (readability's two lists, shortened).
const FURNITURE_WORDS: &[&str] = &[
    "banner",
    "breadcrumb",
    "comment",
    "cookie",
    "footer",
    "header",
    "menu",
    "nav",
    "pagination",
    "pager",
    "popup",
    "related",
    "share",
    "sidebar",
    "social",
    "sponsor",
    "skip",
];
const CONTENT_WORDS: &[&str] = &["article", "body", "content", "main", "column"];

/// Elements that never have an end tag.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// A block with at least this share of its characters in links is navigation.
const LINK_SHARE: f32 = 0.75;

pub(super) fn parse(path: &str, bytes: &[u8]) -> Document {
    let text = decode(bytes);
    // A hint, confirmed by the parse: a page naming no main content is read whole.
    let marks_main = mentions_main(&text);
    let mut read = Page::read(&text, marks_main, true);
    if read.blocks.is_empty() && marks_main {
        read = Page::read(&text, false, true);
    }
    // A furniture container left open swallows the rest of the page: read it
    // again without the class and id guesses rather than lose it.
    if read.blocks.is_empty() {
        read = Page::read(&text, false, false);
    }
    let title = read
        .h1
        .filter(|t| !t.is_empty())
        .or(read.title.filter(|t| !t.is_empty()));
    Document {
        path: path.to_string(),
        title_from_name: title.is_none(),
        title: title.unwrap_or_else(|| fallback_title(path)),
        meta: Default::default(),
        url: read.canonical.as_deref().and_then(web_address),
        paged: false,
        blocks: read.blocks,
    }
}

/// The page's text as a reader sees it: every text node, a space between
/// blocks, none across inline markup, scripts and styles left out. What a
/// citation's lines are checked against.
pub(crate) fn visible_text(html: &str) -> String {
    let sink = Plain {
        out: RefCell::new(String::new()),
        raw: RefCell::new(false),
    };
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    feed(&tokenizer, html);
    tokenizer.sink.out.into_inner()
}

struct Plain {
    out: RefCell<String>,
    /// Inside a script or style.
    raw: RefCell<bool>,
}

impl TokenSink for Plain {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            Token::CharacterTokens(t) if !*self.raw.borrow() => self.out.borrow_mut().push_str(&t),
            Token::TagToken(tag) => {
                let name = &*tag.name;
                if BLOCKS.contains(&name) || name == "br" {
                    self.out.borrow_mut().push(' ');
                }
                let raw = raw_kind(name);
                *self.raw.borrow_mut() = tag.kind == TagKind::StartTag
                    && matches!(raw, Some(RawKind::ScriptData | RawKind::Rawtext));
                if tag.kind == TagKind::StartTag {
                    if let Some(kind) = raw {
                        return TokenSinkResult::RawData(kind);
                    }
                }
            }
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

fn feed<S: TokenSink>(tokenizer: &Tokenizer<S>, text: &str) {
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(text));
    // The sink never asks to pause for a script, so one feed reads it all.
    let _ = tokenizer.feed(&input);
    tokenizer.end();
}

/// The tokenizer state an element's content is read in, as the tree builder would set it.
fn raw_kind(name: &str) -> Option<RawKind> {
    match name {
        "script" => Some(RawKind::ScriptData),
        "style" | "xmp" | "iframe" | "noembed" | "noframes" => Some(RawKind::Rawtext),
        "title" | "textarea" => Some(RawKind::Rcdata),
        _ => None,
    }
}

/// The bytes as text: UTF-8 if they are (or, with bad bytes replaced, if the
/// page declares UTF-8), else Windows-1252, the single-byte Western encoding
/// browsers assume for a legacy page (a superset of Latin-1); never an error.
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Cow::Borrowed(text);
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)]).to_ascii_lowercase();
    let declared = head
        .split("charset=")
        .nth(1)
        .map(|rest| rest.trim_start_matches(['"', '\'']))
        .map(|rest| {
            rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .next()
                .unwrap_or_default()
                .to_string()
        });
    if declared
        .as_deref()
        .is_some_and(|label| label.contains("utf"))
    {
        return String::from_utf8_lossy(bytes);
    }
    Cow::Owned(bytes.iter().map(|&b| windows_1252(b)).collect())
}

/// One byte of Windows-1252 (a superset of Latin-1) as a character.
fn windows_1252(byte: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž',
        '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}',
        'ž', 'Ÿ',
    ];
    match byte {
        0x80..=0x9F => HIGH[usize::from(byte - 0x80)],
        _ => char::from(byte),
    }
}

/// Whether the page seems to mark its main content: read for that alone, if it does.
fn mentions_main(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    [
        "<main",
        "<article",
        "role=\"main\"",
        "role='main'",
        "role=main",
    ]
    .iter()
    .any(|mark| lower.contains(mark))
}

/// An element being followed to its end tag: its name and how many of the
/// same name are open inside it.
struct Scope {
    name: String,
    depth: u32,
}

impl Scope {
    fn new(name: &str) -> Scope {
        Scope {
            name: name.to_string(),
            depth: 1,
        }
    }

    /// Follows one tag; true when it closes the scope.
    fn closed_by(&mut self, tag: &Tag) -> bool {
        if *tag.name != *self.name {
            return false;
        }
        match tag.kind {
            TagKind::StartTag => self.depth += 1,
            TagKind::EndTag => self.depth -= 1,
        }
        self.depth == 0
    }
}

struct Open {
    kind: BlockKind,
    /// A `<pre>`: its line breaks are kept.
    pre: bool,
    text: String,
    link_chars: usize,
    start: u64,
    end: u64,
}

impl Open {
    fn new(kind: BlockKind, line: u64) -> Open {
        Open {
            kind,
            pre: false,
            text: String::new(),
            link_chars: 0,
            start: line,
            end: line,
        }
    }
}

#[derive(Default)]
struct Page {
    blocks: Vec<Block>,
    title: Option<String>,
    h1: Option<String>,
    canonical: Option<String>,
}

struct Reader {
    /// Read only inside `<main>`, `<article>` or `role=main`.
    main_only: bool,
    /// Skip containers whose class or id names furniture.
    guess: bool,
    page: Page,
    section: Vec<String>,
    /// The heading level of each of `section`.
    levels: Vec<u8>,
    heading: Option<(u8, String)>,
    open: Option<Open>,
    skip: Option<Scope>,
    main: Vec<Scope>,
    in_title: Option<String>,
    in_link: u32,
    /// An in-page link (`href="#…"`) being read: where its text starts in
    /// the heading or block, so that a permalink mark ("¶", "#") can be
    /// taken out again at its end.
    in_page_link: Option<usize>,
    in_item: u32,
    /// Text was left out since the last block.
    gap: bool,
    in_row: bool,
    /// Line of the last tag: where text that opens a block without one starts.
    last_tag_line: u64,
}

struct Sink(RefCell<Reader>);

impl Page {
    fn read(text: &str, main_only: bool, guess: bool) -> Page {
        let reader = Reader {
            main_only,
            guess,
            page: Page::default(),
            section: Vec::new(),
            levels: Vec::new(),
            heading: None,
            open: None,
            skip: None,
            main: Vec::new(),
            in_title: None,
            in_link: 0,
            in_page_link: None,
            in_item: 0,
            gap: false,
            in_row: false,
            last_tag_line: 1,
        };
        let tokenizer = Tokenizer::new(Sink(RefCell::new(reader)), TokenizerOpts::default());
        feed(&tokenizer, text);
        let mut reader = tokenizer.sink.0.into_inner();
        reader.flush();
        reader.page
    }
}

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, line: u64) -> TokenSinkResult<()> {
        let mut reader = self.0.borrow_mut();
        match token {
            Token::TagToken(tag) => {
                reader.last_tag_line = line;
                let raw = (tag.kind == TagKind::StartTag)
                    .then(|| raw_kind(&tag.name))
                    .flatten();
                reader.tag(&tag, line);
                if let Some(kind) = raw {
                    return TokenSinkResult::RawData(kind);
                }
            }
            Token::CharacterTokens(text) => reader.text(&text, line),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

fn attribute<'a>(tag: &'a Tag, name: &str) -> Option<&'a str> {
    tag.attrs
        .iter()
        .find(|a| &*a.name.local == name)
        .map(|a| a.value.as_ref())
}

impl Reader {
    fn in_main(&self) -> bool {
        !self.main_only || !self.main.is_empty()
    }

    /// Whether an element's content is page furniture, not text.
    fn is_furniture(&self, tag: &Tag) -> bool {
        let name = &*tag.name;
        if VOID.contains(&name) {
            return false;
        }
        // A page's own header, footer and asides; inside the main content they
        // are the article's (Sphinx writes a page's abstract as an `<aside>`).
        if matches!(name, "header" | "footer" | "aside") && self.main.is_empty() {
            return true;
        }
        if NOT_TEXT.contains(&name)
            || attribute(tag, "hidden").is_some()
            || attribute(tag, "aria-hidden") == Some("true")
            || attribute(tag, "role").is_some_and(|r| FURNITURE_ROLES.contains(&r))
        {
            return true;
        }
        if !self.guess || !matches!(name, "div" | "section" | "ul" | "ol" | "table" | "span") {
            return false;
        }
        let names = format!(
            "{} {}",
            attribute(tag, "class").unwrap_or_default(),
            attribute(tag, "id").unwrap_or_default()
        )
        .to_ascii_lowercase();
        FURNITURE_WORDS.iter().any(|w| names.contains(w))
            && !CONTENT_WORDS.iter().any(|w| names.contains(w))
    }

    fn is_main(tag: &Tag) -> bool {
        matches!(&*tag.name, "main" | "article") || attribute(tag, "role") == Some("main")
    }

    fn tag(&mut self, tag: &Tag, line: u64) {
        if let Some(skip) = self.skip.as_mut() {
            if skip.closed_by(tag) {
                self.skip = None;
            }
            return;
        }
        let name = &*tag.name;
        let start = tag.kind == TagKind::StartTag;
        if name == "title" {
            match self.in_title.take() {
                Some(title) if !start && self.page.title.is_none() => {
                    self.page.title = Some(collapse_space([title.as_str()]));
                }
                _ => self.in_title = start.then(String::new),
            }
            return;
        }
        if start && name == "link" && attribute(tag, "rel").is_some_and(|r| r.contains("canonical"))
        {
            self.page.canonical = attribute(tag, "href").map(str::to_string);
        }
        if start && name == "meta" && attribute(tag, "property") == Some("og:url") {
            let url = attribute(tag, "content").map(str::to_string);
            self.page.canonical = self.page.canonical.take().or(url);
        }
        if start && self.is_furniture(tag) {
            self.flush();
            self.gap = true;
            self.skip = Some(Scope::new(name));
            return;
        }
        for scope in &mut self.main {
            scope.closed_by(tag);
        }
        if start && Self::is_main(tag) {
            self.main.push(Scope::new(name));
        }
        self.main.retain(|s| s.depth > 0);
        if name == "a" {
            self.in_link = if start {
                self.in_link + 1
            } else {
                self.in_link.saturating_sub(1)
            };
            if start {
                let in_page = attribute(tag, "href").is_some_and(|h| h.starts_with('#'));
                self.in_page_link =
                    in_page.then(|| self.written().map_or(0, |(text, _)| text.len()));
            } else if let Some(from) = self.in_page_link.take() {
                self.drop_mark(from);
            }
        }
        if name == "br" {
            self.text(" ", line);
            return;
        }
        // Cells of a row are one block, read across.
        if self.in_row && matches!(name, "td" | "th") {
            if start {
                if let Some(open) = self.open.as_mut() {
                    if !open.text.trim().is_empty() {
                        open.text.push_str(" | ");
                    }
                }
            }
            return;
        }
        if !BLOCKS.contains(&name) {
            return;
        }
        self.flush();
        if name == "tr" {
            self.in_row = start;
        }
        if let Some(level) = name.strip_prefix('h').and_then(|l| l.parse::<u8>().ok()) {
            if start {
                self.heading = Some((level, String::new()));
            }
            return;
        }
        if name == "li" {
            self.in_item = if start {
                self.in_item + 1
            } else {
                self.in_item.saturating_sub(1)
            };
        }
        if start {
            let kind = match name {
                "figcaption" | "caption" => BlockKind::Caption,
                // A paragraph inside an item is the item's text.
                _ if self.in_item > 0 => BlockKind::ListItem,
                _ => BlockKind::Paragraph,
            };
            let mut open = Open::new(kind, line);
            open.pre = name == "pre";
            self.open = Some(open);
        }
    }

    fn text(&mut self, text: &str, line: u64) {
        if self.skip.is_some() {
            return;
        }
        if let Some(title) = self.in_title.as_mut() {
            title.push_str(text);
            return;
        }
        if !self.in_main() {
            self.gap |= !text.trim().is_empty();
            return;
        }
        if let Some((_, heading)) = self.heading.as_mut() {
            heading.push_str(text);
            return;
        }
        if self.open.is_none() && text.trim().is_empty() {
            return;
        }
        let start = self.last_tag_line;
        let open = self
            .open
            .get_or_insert_with(|| Open::new(BlockKind::Paragraph, start));
        open.text.push_str(text);
        if self.in_link > 0 {
            open.link_chars += text.chars().filter(|c| !c.is_whitespace()).count();
        }
        open.end = open.end.max(line);
    }

    /// The text of the heading or block being read, and for a block its
    /// count of link characters.
    fn written(&mut self) -> Option<(&mut String, Option<&mut usize>)> {
        match (&mut self.heading, &mut self.open) {
            (Some((_, heading)), _) => Some((heading, None)),
            (None, Some(open)) => Some((&mut open.text, Some(&mut open.link_chars))),
            (None, None) => None,
        }
    }

    /// Takes out what an in-page link wrote from byte `from` on when it is
    /// only a mark: Sphinx's and MkDocs' "¶" after every heading, a "#" or
    /// "§" permalink, a "↩" back to a footnote. Words and numbers stay.
    fn drop_mark(&mut self, from: usize) {
        let Some((text, link_chars)) = self.written() else {
            return;
        };
        let Some(added) = text.get(from..) else {
            return;
        };
        if added.chars().any(char::is_alphanumeric) {
            return;
        }
        let marks = added.chars().filter(|c| !c.is_whitespace()).count();
        text.truncate(from);
        if let Some(count) = link_chars {
            *count = count.saturating_sub(marks);
        }
    }

    /// Ends the heading or block being read.
    fn flush(&mut self) {
        if let Some((level, words)) = self.heading.take() {
            let words = collapse_space([words.as_str()]);
            if words.is_empty() {
            } else if level == 1 && self.page.h1.is_none() {
                self.page.h1 = Some(words);
                self.section.clear();
                self.levels.clear();
            } else {
                // Nested by level, whichever levels the page uses: an `<h3>`
                // under no `<h2>` is a top section.
                while self.levels.last().is_some_and(|&l| l >= level) {
                    self.levels.pop();
                    self.section.pop();
                }
                self.levels.push(level);
                self.section.push(words);
            }
        }
        let Some(open) = self.open.take() else {
            return;
        };
        let text = if open.pre {
            preformatted(&open.text)
        } else {
            collapse_space([open.text.as_str()])
        };
        let chars = text.chars().filter(|c| !c.is_whitespace()).count();
        // Precision loss is irrelevant at these sizes.
        #[allow(clippy::cast_precision_loss)]
        let links = open.link_chars as f32 / chars.max(1) as f32;
        if !text.chars().any(char::is_alphanumeric) {
            return;
        }
        if self.guess && links >= LINK_SHARE {
            self.gap = true;
            return;
        }
        let line = |l: u64| u32::try_from(l.max(1)).unwrap_or(u32::MAX);
        self.page.blocks.push(Block {
            kind: open.kind,
            section: self.section.clone(),
            text,
            lines: (line(open.start), line(open.end.max(open.start))),
            gap: std::mem::take(&mut self.gap),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(doc: &Document) -> Vec<(BlockKind, String, &str)> {
        doc.blocks
            .iter()
            .map(|b| (b.kind, b.section.join(" > "), b.text.as_str()))
            .collect()
    }

    const PAGE: &str = r#"<!DOCTYPE html>
<html><head><title>Site | Page</title>
<link rel="canonical" href="https://example.org/page">
<style>p { color: red }</style><script>var x = "<p>not text</p>";</script>
</head><body>
<nav><ul><li><a href="/">Home</a></li></ul></nav>
<div class="site-header">Brand slogan words</div>
<main>
<h1>Gene <em>therapy</em></h1>
<p>Gene therapy consists of introducing genetic material
into cells.</p>
<h2>Vectors</h2>
<p>Two kinds are used:</p>
<ul><li>viral vectors</li><li>plasmids &amp; lipids</li></ul>
<figure><img src="x.png"><figcaption>The first trial.</figcaption></figure>
<table><tr><th>Drug</th><th>Year</th></tr><tr><td>Glybera</td><td>2012</td></tr></table>
<p><a href="/a">A link only paragraph</a></p>
<p hidden>Hidden text</p>
</main>
<footer>Copyright notice</footer>
</body></html>"#;

    #[test]
    fn main_content_sections_lists_captions_rows() {
        let doc = parse("corpus/page.html", PAGE.as_bytes());
        assert_eq!(doc.title, "Gene therapy");
        assert_eq!(doc.url.as_deref(), Some("https://example.org/page"));
        assert_eq!(
            summary(&doc),
            vec![
                (
                    BlockKind::Paragraph,
                    String::new(),
                    "Gene therapy consists of introducing genetic material into cells."
                ),
                (
                    BlockKind::Paragraph,
                    "Vectors".into(),
                    "Two kinds are used:"
                ),
                (BlockKind::ListItem, "Vectors".into(), "viral vectors"),
                (BlockKind::ListItem, "Vectors".into(), "plasmids & lipids"),
                (BlockKind::Caption, "Vectors".into(), "The first trial."),
                (BlockKind::Paragraph, "Vectors".into(), "Drug | Year"),
                (BlockKind::Paragraph, "Vectors".into(), "Glybera | 2012"),
            ]
        );
        // The first paragraph's two lines are its citation.
        assert_eq!(doc.blocks[0].lines, (10, 11));
    }

    // Regression: Sphinx pages (Python's documentation) put a "¶" permalink
    // in every heading, and every citation's section read "Sockets¶ ›
    // History¶".
    #[test]
    fn permalink_marks_are_not_text_but_in_page_links_with_words_are() {
        let doc = parse(
            "howto.html",
            "<h1>Socket HOWTO<a class=\"headerlink\" href=\"#socket-howto\">¶</a></h1>\
             <h2>History <a href=\"#history\">#</a></h2>\
             <p>Invented at Berkeley, see <a href=\"#bsd\">BSD Unix</a>.\
             <a href=\"#fnref1\">↩</a> <a href=\"/x\">¶</a></p>"
                .as_bytes(),
        );
        assert_eq!(doc.title, "Socket HOWTO");
        assert_eq!(
            summary(&doc),
            vec![(
                BlockKind::Paragraph,
                "History".into(),
                "Invented at Berkeley, see BSD Unix. ¶"
            )]
        );
    }

    // Regression: a `<pre>` was run together into one line.
    #[test]
    fn preformatted_text_keeps_its_lines() {
        let doc = parse(
            "howto.html",
            b"<p>Like this:</p><div class=\"highlight\"><pre><span></span><span class=\"c1\"># create a socket</span>\n<span class=\"n\">s</span> = socket()\n</pre></div><p>Then <code>connect</code>\nit.</p>",
        );
        let texts: Vec<&str> = doc.blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Like this:",
                "# create a socket\ns = socket()",
                "Then connect it."
            ]
        );
    }

    // Regression: Sphinx writes a page's abstract as an `<aside>` inside the
    // main content, and it was dropped with the page's own sidebars.
    #[test]
    fn an_aside_in_the_main_content_is_text_and_the_page_s_own_is_not() {
        let doc = parse(
            "howto.html",
            b"<aside><p>Other pages you may like</p></aside>\
              <div role=\"main\"><h1>Sockets</h1>\
              <aside class=\"topic\"><p>Sockets are used nearly everywhere.</p></aside>\
              <p>Body text.</p></div>",
        );
        assert_eq!(
            summary(&doc),
            vec![
                (
                    BlockKind::Paragraph,
                    String::new(),
                    "Sockets are used nearly everywhere."
                ),
                (BlockKind::Paragraph, String::new(), "Body text."),
            ]
        );
    }

    #[test]
    fn a_page_without_main_is_read_whole_minus_furniture() {
        let doc = parse(
            "x.htm",
            b"<title>T</title><body><div id=menu>Menu words</div>Loose text<p>Para</p><div class=\"sidebar\"><p>Side</p></div><p>End</p>",
        );
        assert_eq!(doc.title, "T");
        let texts: Vec<_> = doc.blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(texts, ["Loose text", "Para", "End"]);
    }

    #[test]
    fn an_unclosed_furniture_container_does_not_swallow_the_page() {
        let doc = parse("x.html", b"<div class=nav><p>Only text here</p>");
        let texts: Vec<_> = doc.blocks.iter().map(|b| b.text.as_str()).collect();
        assert_eq!(texts, ["Only text here"]);
    }

    #[test]
    fn legacy_encodings_are_decoded() {
        let doc = parse(
            "x.html",
            b"<meta charset=iso-8859-1><p>caf\xe9 \x93quoted\x94</p>",
        );
        assert_eq!(doc.blocks[0].text, "caf\u{e9} \u{201c}quoted\u{201d}");
    }

    #[test]
    fn visible_text_spaces_blocks_not_inline_markup() {
        assert_eq!(
            collapse_space([
                visible_text("<p>gene<b>s</b></p><p>two<script>x()</script></p>").as_str()
            ]),
            "genes two"
        );
    }
}
