//! Re-ranking: each candidate passage is matched against the question's
//! concepts once ([`Matcher`]), its signals read from that match
//! ([`Signals`]), and then a list of [`Stage`]s each add what they know to
//! its score. A stage can be added, removed or reordered in
//! [`stages`] without touching retrieval, display or the verdict.

use std::sync::Arc;

use super::query::{weighted, Concept, Query};
use super::retrieve::Retrieved;
use crate::analysis::{self, Analysed, Span};
use crate::config::SearchConfig;
use crate::index::Stored;

/// A passage being re-ranked.
pub(crate) struct Candidate<'m> {
    pub stored: Arc<Stored>,
    /// The index's BM25 score.
    pub bm25: f32,
    /// Which question concepts each of the passage's words stands for.
    pub matches: Matches<'m>,
    pub signals: Signals,
    /// The model's cosines with the question: the passage's, its best sentence's.
    pub similarity: Option<(f32, f32)>,
    /// What the stages made of it; candidates are shown best score first.
    pub score: f32,
}

impl<'m> Candidate<'m> {
    /// Matches `retrieved` against the question.
    pub fn new(retrieved: Retrieved, matcher: &'m Matcher) -> Self {
        let Retrieved { bm25, stored, .. } = retrieved;
        let matches = matcher.matches(&stored.analysed);
        let mut signals = Signals::of(&stored.analysed, &matches, matcher);
        // "This first strategy involves importing a copy of a functional gene":
        // a passage opening with a reference takes its subject from its section title.
        if analysis::opens_with_reference(&stored.passage.text) {
            signals.add_heading(stored.section_analysed(), matcher);
        }
        Candidate {
            stored,
            bm25,
            matches,
            signals,
            similarity: None,
            score: 0.0,
        }
    }
}

/// One re-ranking stage: adds to each candidate's score what it knows.
pub(crate) trait Stage: Send + Sync {
    fn score(&self, query: &Query, candidates: &mut [Candidate]);
}

/// The stages in the order they run, weighted by `config`; the lexical
/// stage by the weights fitted with the model or without it (`semantic`).
pub(crate) fn stages(config: &SearchConfig, semantic: bool) -> Vec<Box<dyn Stage>> {
    let lexical = if semantic {
        Lexical {
            bm25: config.weight_bm25,
            coverage: config.weight_coverage,
            proximity: config.weight_proximity,
        }
    } else {
        Lexical {
            bm25: config.lexical_only_weight_bm25,
            coverage: config.lexical_only_weight_coverage,
            proximity: config.lexical_only_weight_proximity,
        }
    };
    vec![
        Box::new(lexical),
        Box::new(Semantic {
            passage: config.weight_similarity,
            sentence: config.weight_sentence_similarity,
        }),
    ]
}

/// BM25 (scaled to the best candidate's), the share of the question the
/// passage holds, and how close together its question words stand.
struct Lexical {
    bm25: f32,
    coverage: f32,
    proximity: f32,
}

impl Stage for Lexical {
    fn score(&self, _: &Query, candidates: &mut [Candidate]) {
        let best_bm25 = best_bm25(candidates);
        for c in candidates {
            c.score = self.bm25 * c.bm25 / best_bm25
                + self.coverage * c.signals.coverage
                + self.proximity * c.signals.proximity;
        }
    }
}

/// The best BM25 score among `candidates`, which scales each one's.
pub(crate) fn best_bm25(candidates: &[Candidate]) -> f32 {
    candidates
        .iter()
        .map(|c| c.bm25)
        .fold(f32::EPSILON, f32::max)
}

/// How close the passage and its best sentence are in meaning to the
/// question, by the model's embeddings (nothing without a model).
struct Semantic {
    passage: f32,
    sentence: f32,
}

impl Stage for Semantic {
    fn score(&self, _: &Query, candidates: &mut [Candidate]) {
        for c in candidates {
            if let Some((passage, sentence)) = c.similarity {
                c.score += self.passage * passage + self.sentence * sentence;
            }
        }
    }
}

/// A concept (by index) a term stands for, and how strongly.
type ConceptWeight = (usize, f32);

/// Which concepts each index term stands for, and how strongly: built once
/// per question so a passage is matched with one lookup per distinct word.
pub(crate) struct Matcher<'q> {
    concepts: &'q [Concept],
    /// Sorted by [`analysis::term_key`] of the stem, for a binary search per word.
    terms: Vec<(u64, &'q str, Vec<ConceptWeight>)>,
    /// A 1024-bit Bloom filter of the keys: most words of a passage are no
    /// question term and are turned away by one bit test.
    bloom: [u64; 16],
    total_idf: f32,
}

impl<'q> Matcher<'q> {
    pub fn new(concepts: &'q [Concept]) -> Self {
        let mut terms: Vec<(u64, &str, Vec<ConceptWeight>)> = Vec::new();
        for (c, concept) in concepts.iter().enumerate() {
            for (stem, weight) in &concept.alternatives {
                match terms.iter_mut().find(|(_, s, _)| s == stem) {
                    Some((_, _, list)) => list.push((c, *weight)),
                    None => terms.push((analysis::term_key(stem), stem, vec![(c, *weight)])),
                }
            }
        }
        terms.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
        let mut bloom = [0u64; 16];
        for (key, _, _) in &terms {
            let bit = key & 1023;
            bloom[(bit >> 6) as usize] |= 1 << (bit & 63);
        }
        let total_idf = concepts.iter().map(|c| c.idf).sum::<f32>();
        Matcher {
            concepts,
            terms,
            bloom,
            total_idf: total_idf.max(f32::EPSILON),
        }
    }

    fn lookup(&self, key: u64, stem: &str) -> &[(usize, f32)] {
        let bit = key & 1023;
        if self.bloom[(bit >> 6) as usize] & (1 << (bit & 63)) == 0 {
            return &[];
        }
        let first = self.terms.partition_point(|(k, _, _)| *k < key);
        self.terms[first..]
            .iter()
            .take_while(|(k, _, _)| *k == key)
            .find(|(_, s, _)| *s == stem)
            .map_or(&[][..], |(_, _, list)| list.as_slice())
    }

    /// The share of the question (by rarity) that concept weights `best_weight` hold.
    fn coverage(&self, best_weight: &[f32]) -> f32 {
        weighted(self.concepts, best_weight) / self.total_idf
    }

    /// For each token of `analysed`, the concepts it matches.
    pub fn matches<'a>(&'a self, analysed: &Analysed) -> Matches<'a> {
        let per_form = analysed
            .forms
            .iter()
            .zip(&analysed.stem_keys)
            .map(|((_, stem), &key)| self.lookup(key, stem))
            .collect();
        Matches { per_form }
    }
}

pub(crate) struct Matches<'a> {
    per_form: Vec<&'a [(usize, f32)]>,
}

impl Matches<'_> {
    pub fn of(&self, token: &Span) -> &[(usize, f32)] {
        self.per_form[token.form]
    }
}

/// What the re-ranker scores a passage on.
pub(crate) struct Signals {
    /// Share of the question (by rarity) the passage holds.
    pub coverage: f32,
    /// How strongly the passage holds each concept (0: not at all).
    pub best_weight: Vec<f32>,
    /// Share of neighbouring question words that stand close together.
    pub proximity: f32,
}

impl Signals {
    fn of(analysed: &Analysed, matches: &Matches, matcher: &Matcher) -> Signals {
        let n = matcher.concepts.len();
        let mut best_weight = vec![0.0f32; n];
        let mut positions: Vec<Vec<u32>> = vec![Vec::new(); n];
        for token in &analysed.tokens {
            for &(c, w) in matches.of(token) {
                best_weight[c] = best_weight[c].max(w);
                positions[c].push(token.position);
            }
        }
        let coverage = matcher.coverage(&best_weight);

        // Neighbouring question words that stand close together in the passage.
        let matched: Vec<usize> = (0..n).filter(|&c| !positions[c].is_empty()).collect();
        let pairs = n.saturating_sub(1).max(1) as f32;
        let close = matched
            .windows(2)
            .filter(|w| {
                positions[w[0]]
                    .iter()
                    .any(|a| positions[w[1]].iter().any(|b| a.abs_diff(*b) <= 3))
            })
            .count() as f32;
        Signals {
            coverage,
            best_weight,
            proximity: close / pairs,
        }
    }

    /// "This first strategy involves importing a copy of a functional gene":
    /// a passage opening with a reference takes its subject from its section
    /// title, whose words then count for it, at half weight.
    fn add_heading(&mut self, heading: &Analysed, matcher: &Matcher) {
        let matches = matcher.matches(heading);
        for token in &heading.tokens {
            for &(c, w) in matches.of(token) {
                self.best_weight[c] = self.best_weight[c].max(w * HEADING_ANTECEDENT);
            }
        }
        self.coverage = matcher.coverage(&self.best_weight);
    }
}

/// How much a section title's word counts for a passage that leans on the title.
const HEADING_ANTECEDENT: f32 = 0.5;
