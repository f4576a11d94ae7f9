//! The corpus keeps every content sentence of the article as scraped: the seed
//! minus an explicit list of page furniture.

use std::fs;

use unicode_segmentation::UnicodeSegmentation;

/// Whole seed lines that are page furniture: icon names, image files, French alt
/// texts, page widgets and a link.
const FURNITURE_LINES: &[&str] = &[
    "Sous titre",
    "• Reading time",
    "25-30 min",
    "• Last update",
    "• Difficulty",
    "4 sur 5",
    "Learn more about Genome editing",
    "inserm_57756_medium",
    "Chercheur et bébé",
    "Thérapie génique de l'adrénoleucodystrophie (ALD)",
];

/// Icon names glued to the front of headings.
const ICON_PREFIXES: &[&str] = &[
    "Loupe comprendre ",
    "Feuilles ",
    "Pictogramme vecteur ",
    "Pictogramme flacon de médicaments ",
    "Buste souriant et pouce levé ",
    "Hélice ADN ",
    "Pictogramme main cellules ",
    "Rouages ",
];

fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn every_content_sentence_of_the_seed_is_in_the_corpus() {
    let seed_path = crate::util::repo_file("../shared/seed/000_8e72ec65dc7de4f2.txt");
    let seed = fs::read_to_string(&seed_path)
        .unwrap_or_else(|e| panic!("the seed article {} is needed: {e}", seed_path.display()));
    let corpus =
        squash(&fs::read_to_string(crate::util::repo_file("corpus/gene-therapy.md")).unwrap());

    let mut checked = 0;
    let mut missing = Vec::new();
    for line in seed.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if FURNITURE_LINES.contains(&line) {
            continue;
        }
        let mut content = line.trim_start_matches('•').trim();
        for prefix in ICON_PREFIXES {
            content = content.strip_prefix(prefix).unwrap_or(content);
        }
        for sentence in content.split_sentence_bounds() {
            let sentence = squash(sentence);
            if sentence.is_empty() {
                continue;
            }
            checked += 1;
            if !corpus.contains(&sentence) {
                missing.push(sentence);
            }
        }
    }
    assert!(checked > 200, "only {checked} sentences read from the seed");
    assert!(missing.is_empty(), "missing from the corpus: {missing:#?}");
}

#[test]
fn furniture_is_gone_from_the_corpus() {
    let corpus = fs::read_to_string(crate::util::repo_file("corpus/gene-therapy.md")).unwrap();
    for furniture in FURNITURE_LINES.iter().chain(ICON_PREFIXES) {
        let word = furniture.trim_start_matches("• ").trim();
        assert!(
            !corpus.contains(word),
            "furniture left in the corpus: {word}"
        );
    }
}
