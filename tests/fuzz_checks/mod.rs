//! What the fuzzer (`examples/fuzz.rs`) checks for each input; the regression
//! test replays saved crash inputs through the same checks.

#![allow(dead_code)]

use citebot::analysis::Analysed;
use citebot::search::Engine;
use citebot::{citation, corpus, passages};

/// The checks for one input; panics on a bug.
pub fn check_question(engine: &Engine, input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    let answer = engine
        .ask(&citebot::answer::Question::new(text.as_ref()), 5)
        .expect("search never fails on a good index");
    for hit in &answer.hits {
        assert!(hit.passage.text.get(hit.best_sentence.clone()).is_some());
        for r in &hit.highlights {
            assert!(hit.passage.text.get(r.clone()).is_some());
        }
    }
    let reply = citebot::render::discord_reply(&answer);
    citebot::render::within_limits(&reply).expect("Discord limits");
}

/// Markdown and plain text: what the bytes read as UTF-8 give.
pub fn check_corpus(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    for path in ["fuzz.md", "fuzz.txt"] {
        check_document(path, text.as_bytes());
    }
}

/// HTML: any bytes, in any encoding, are a page.
pub fn check_html(input: &[u8]) {
    check_document("fuzz.html", input);
}

/// PDF: any bytes are a document or a named error, never a panic.
pub fn check_pdf(input: &[u8]) {
    check_document("fuzz.pdf", input);
}

fn check_document(path: &str, input: &[u8]) {
    let doc = match corpus::parse(path, input) {
        Ok(doc) => doc,
        Err(e) => {
            assert!(e.to_string().contains(path), "an error names its file: {e}");
            return;
        }
    };
    let split = passages::split(&doc);
    let words = |texts: Vec<&str>| -> usize { texts.iter().map(|t| passages::word_count(t)).sum() };
    let in_blocks = words(doc.blocks.iter().map(|b| b.text.as_str()).collect());
    let in_passages = words(split.iter().map(|p| p.text.as_str()).collect());
    assert_eq!(in_blocks, in_passages, "words lost or duplicated");
    for p in &split {
        assert!(passages::word_count(&p.text) <= passages::MAX_WORDS);
        let [first, last] = p.citation.span.range();
        assert!(first <= last);
        // Highlights and best sentences slice the text at these offsets.
        let analysed = Analysed::of(&p.text);
        for t in &analysed.tokens {
            assert!(p.text.get(t.start..t.end).is_some(), "token offsets");
        }
        for s in &analysed.sentences {
            assert!(p.text.get(s.clone()).is_some());
        }
    }
    // The links: each passage's fragments measured against its page (for a
    // document with an address) and built for each of its sentences.
    let format = corpus::Format::of(std::path::Path::new(path)).expect("a format");
    if let Ok(checked) = citation::check_document(path, format, input) {
        let page = citation::Page::of(&checked.document, input);
        for p in &checked.passages {
            let edge = citation::fragment_edge(&page, &p.text);
            for s in Analysed::of(&p.text).sentences {
                citation::link("https://example.org/", &p.text, s, edge);
            }
        }
    }
}
