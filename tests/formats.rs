//! HTML and PDF in the corpus, and citations proven: generated documents of
//! every format and the real pages and reports in `tests/formats/` are read,
//! split, and each citation checked against its file; a corpus mixing the
//! three formats answers from each, skipping what it cannot read.

use std::fs;
use std::path::Path;

use citebot::citation::{self, Report};
use citebot::corpus::Format;
use lopdf::content::{Content, Operation};
use lopdf::{dictionary, Object, Stream};
use proptest::prelude::*;
use serde_json::Value;

use crate::util::{citebot, repo_file, stdout_of};

/// A PDF of `pages`, each a list of paragraphs, each a list of lines, set in
/// Helvetica with a blank line's gap between paragraphs.
pub fn pdf(pages: &[Vec<Vec<String>>]) -> Vec<u8> {
    let mut doc = lopdf::Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    let mut kids = Vec::new();
    for paragraphs in pages {
        let mut ops = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 11.into()]),
            Operation::new("Td", vec![60.into(), 780.into()]),
        ];
        for paragraph in paragraphs {
            for line in paragraph {
                ops.push(Operation::new(
                    "Tj",
                    vec![Object::string_literal(line.as_str())],
                ));
                ops.push(Operation::new("Td", vec![0.into(), (-14).into()]));
            }
            ops.push(Operation::new("Td", vec![0.into(), (-14).into()]));
        }
        ops.push(Operation::new("ET", vec![]));
        let content = Content { operations: ops }.encode().expect("content");
        let content = doc.add_object(Stream::new(dictionary! {}, content));
        kids.push(Object::from(doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content,
        })));
    }
    let count = i64::try_from(kids.len()).expect("page count");
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => kids, "Count" => count, "Resources" => resources,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("write PDF");
    out
}

/// A two-page PDF with no text on its pages: a scan, to citebot.
fn pdf_without_text() -> Vec<u8> {
    pdf(&[vec![], vec![]])
}

fn check(path: &str, bytes: &[u8]) -> Report {
    let format = Format::of(Path::new(path)).expect("a format");
    citation::check_file(path, format, bytes).expect("readable")
}

fn failures(report: &Report) -> Vec<String> {
    report.failures.iter().map(ToString::to_string).collect()
}

/// Made-up words: a document of them repeats no phrase by chance.
fn word() -> impl Strategy<Value = String> {
    "[A-Z]?[a-z]{3,9}"
}

fn sentence() -> impl Strategy<Value = String> {
    prop::collection::vec(word(), 3..16).prop_map(|w| w.join(" ") + ".")
}

fn paragraph() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(sentence(), 1..5)
}

/// A document: sections, each a heading, paragraphs and perhaps a list.
#[derive(Debug, Clone)]
struct Doc {
    sections: Vec<(String, Vec<Vec<String>>, Vec<String>)>,
}

fn doc() -> impl Strategy<Value = Doc> {
    prop::collection::vec(
        (
            word(),
            prop::collection::vec(paragraph(), 1..4),
            prop::collection::vec(sentence(), 0..4),
        ),
        1..5,
    )
    .prop_map(|sections| Doc { sections })
}

impl Doc {
    fn markdown(&self) -> String {
        let mut out = "---\nurl: https://example.org/doc\n---\n\n# Title words\n".to_string();
        for (heading, paragraphs, items) in &self.sections {
            out.push_str(&format!("\n## {heading}\n\n"));
            for p in paragraphs {
                // Lines wrapped as people wrap them, emphasis inside.
                let text = p.join(" ").replacen(' ', "\n", 2).replacen(' ', " *", 1);
                out.push_str(&format!("{text}\n\n"));
            }
            for item in items {
                out.push_str(&format!("- {item}\n"));
            }
        }
        out
    }

    fn text(&self) -> String {
        let mut out = String::new();
        for (_, paragraphs, items) in &self.sections {
            for p in paragraphs.iter().chain(std::iter::once(items)) {
                if !p.is_empty() {
                    out.push_str(&p.join("\n  "));
                    out.push_str("\n\n");
                }
            }
        }
        out
    }

    fn html(&self) -> String {
        let mut out = "<!doctype html><html><head><title>T</title>\n<link rel=canonical href=\"https://example.org/page\">\n</head><body><nav><a href=/>Home</a> <a href=/x>Other page</a></nav>\n<main><h1>Title</h1>\n".to_string();
        for (heading, paragraphs, items) in &self.sections {
            out.push_str(&format!("<h2>{heading}</h2>\n"));
            for p in paragraphs {
                out.push_str(&format!(
                    "<p>{}</p>\n",
                    p.join("\n")
                        .replacen(' ', " <b>", 1)
                        .replacen(' ', "</b> ", 2)
                ));
            }
            if !items.is_empty() {
                out.push_str("<ul>\n");
                for item in items {
                    out.push_str(&format!("<li>{item}</li>\n"));
                }
                out.push_str("</ul>\n");
            }
        }
        out.push_str("</main><footer>Footer words</footer></body></html>\n");
        out
    }

    /// A page a section, its paragraphs' sentences a line each.
    fn pages(&self) -> Vec<Vec<Vec<String>>> {
        self.sections
            .iter()
            .map(|(_, paragraphs, _)| paragraphs.clone())
            .collect()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Every passage lies word for word in the lines (or page) it cites, and
    /// every sentence's text fragment selects that sentence on its page.
    #[test]
    fn citations_hold_in_every_format(doc in doc()) {
        for (path, bytes) in [
            ("gen/doc.md", doc.markdown().into_bytes()),
            ("gen/doc.txt", doc.text().into_bytes()),
            ("gen/doc.html", doc.html().into_bytes()),
            ("gen/doc.pdf", pdf(&doc.pages())),
        ] {
            let report = check(path, &bytes);
            prop_assert!(report.passages > 0, "{path}: no passages");
            prop_assert!(report.failures.is_empty(), "{path}: {:?}", failures(&report));
            if !path.ends_with(".pdf") && !path.ends_with(".txt") {
                prop_assert!(report.fragments >= report.passages, "{path}: fragments unchecked");
            }
        }
    }
}

#[test]
fn real_pages_and_reports_cite_their_own_text() {
    let mut fragments = 0;
    let mut missed = 0;
    for name in [
        "tests/formats/valgrind-faq.html",
        "tests/formats/shared-mime-info-spec.html",
        "tests/formats/shared-mime-info-spec.pdf",
        "tests/formats/libtasn1.pdf",
        "corpus/gene-therapy.md",
    ] {
        let bytes = fs::read(repo_file(name)).unwrap();
        let report = check(name, &bytes);
        assert!(
            report.passages >= 60,
            "{name}: {} passages",
            report.passages
        );
        let misplaced: Vec<_> = failures(&report)
            .into_iter()
            .filter(|f| !f.contains("text fragment"))
            .collect();
        assert!(misplaced.is_empty(), "{name}: {misplaced:?}");
        fragments += report.fragments;
        missed += report.failures.len();
    }
    // Each passage's fragments quote as many words as its page needs to find
    // them at their own place (8 of these 426 missed when they always quoted
    // five: a table of contents, or an earlier sentence opening the same way).
    assert!(fragments > 400, "{fragments}");
    assert_eq!(missed, 0, "{missed} of {fragments} fragments miss");
}

#[test]
fn unreadable_pdfs_are_named_errors() {
    for (bytes, why) in [
        (pdf_without_text(), "no text layer"),
        (b"%PDF-1.7\ngarbage".to_vec(), "not a readable PDF"),
    ] {
        let err = citebot::corpus::parse("c/x.pdf", &bytes)
            .unwrap_err()
            .to_string();
        assert!(err.contains("c/x.pdf") && err.contains(why), "{err}");
    }
}

fn ask_json(dir: &Path, question: &str) -> Value {
    let out = stdout_of(citebot(dir).args(["ask", "--json", question]));
    serde_json::from_str(&out).unwrap()
}

#[test]
fn a_mixed_corpus_answers_from_each_format_with_citations_to_follow() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("corpus");
    fs::create_dir(&corpus).unwrap();
    for name in [
        "corpus/gene-therapy.md",
        "tests/formats/valgrind-faq.html",
        "tests/formats/libtasn1.pdf",
    ] {
        let file = Path::new(name).file_name().unwrap();
        fs::copy(repo_file(name), corpus.join(file)).unwrap();
    }
    fs::write(corpus.join("scan.pdf"), pdf_without_text()).unwrap();
    fs::write(corpus.join("broken.pdf"), b"%PDF-1.4\n1 0 obj <<").unwrap();
    let out = citebot(dir.path())
        .arg("index")
        .assert()
        .success()
        .get_output()
        .clone();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(stdout.contains("Indexed 3 document(s)"), "{stdout}");
    assert!(
        stderr.contains("skipped corpus/scan.pdf: it has no text layer"),
        "{stderr}"
    );
    assert!(stderr.contains("skipped corpus/broken.pdf"), "{stderr}");

    let answer = ask_json(dir.path(), "how do you pronounce valgrind");
    let citation = &answer["passages"][0]["citation"];
    assert_eq!(citation["file"], "corpus/valgrind-faq.html", "{answer}");
    let url = citation["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://valgrind.org/docs/manual/faq.html#:~:text="),
        "{url}"
    );

    let answer = ask_json(dir.path(), "what are the main features of libtasn1");
    let citation = &answer["passages"][0]["citation"];
    assert_eq!(citation["file"], "corpus/libtasn1.pdf", "{answer}");
    assert_eq!(citation["pages"], serde_json::json!([4, 4]), "{answer}");
    assert!(
        citation.get("lines").is_none() && citation.get("url").is_none(),
        "{citation}"
    );

    let answer = ask_json(dir.path(), "how much does strimvelis cost");
    let citation = &answer["passages"][0]["citation"];
    assert_eq!(citation["file"], "corpus/gene-therapy.md", "{answer}");
    assert!(
        citation["url"].as_str().unwrap().contains("inserm.fr"),
        "{citation}"
    );

    // The terminal shows the page number, and the address to open when it
    // cannot make the citation a link.
    let text = stdout_of(citebot(dir.path()).args(["ask", "how do you pronounce valgrind"]));
    assert!(
        text.contains("\n    https://valgrind.org/docs/manual/faq.html#:~:text="),
        "{text}"
    );
    let text =
        stdout_of(citebot(dir.path()).args(["ask", "what are the main features of libtasn1"]));
    assert!(text.contains("corpus/libtasn1.pdf p. 4"), "{text}");

    // An unchanged corpus, skipped files and all, does not rebuild; a new page does.
    let out = citebot(dir.path())
        .args(["ask", "what are the main features of libtasn1"])
        .assert()
        .success();
    assert!(!String::from_utf8_lossy(&out.get_output().stderr).contains("rebuilding"));
    fs::write(
        corpus.join("new.htm"),
        "<title>Quokkas</title><p>Quokkas live on Rottnest Island near Perth.</p>",
    )
    .unwrap();
    let answer = ask_json(dir.path(), "where do quokkas live");
    assert_eq!(
        answer["passages"][0]["citation"]["file"], "corpus/new.htm",
        "{answer}"
    );
}

#[test]
fn passages_command_shows_and_checks_a_document() {
    let dir = tempfile::tempdir().unwrap();
    let out = stdout_of(citebot(dir.path()).args([
        "passages",
        &repo_file("tests/formats/shared-mime-info-spec.pdf").to_string_lossy(),
    ]));
    assert!(out.contains(" p. 1\n"), "{out}");
    assert!(out.contains(" 0 failed\n"), "{out}");
    fs::write(dir.path().join("broken.pdf"), b"nothing").unwrap();
    citebot(dir.path())
        .args(["passages", "broken.pdf"])
        .assert()
        .code(1)
        .stderr(predicates::str::contains("skipped broken.pdf"));
}
