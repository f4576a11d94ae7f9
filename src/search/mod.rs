//! From a question to ranked, cited passages, in stages that hand each other
//! plain data:
//!
//! 1. [`query`]: the question is analysed like the corpus (never parsed as
//!    query syntax); each content word becomes a concept with its
//!    alternatives (typo corrections, synonyms, acronyms) and its rarity.
//! 2. [`retrieve`]: the index fetches candidates by BM25, and [`semantic`]
//!    adds the passages nearest the question by the model's embeddings.
//! 3. [`rerank`]: each candidate is matched against the concepts, and a list
//!    of stages scores how much of the question it holds, how close it is in
//!    meaning, and whether it holds the kind of answer asked for.
//! 4. The verdict: one confidence score of the best passage against one
//!    threshold decides "not covered".
//! 5. [`display`]: the best sentence and matched words of the passages shown.

mod display;
mod intent;
mod query;
mod rerank;
mod retrieve;
mod semantic;

use std::sync::Arc;

use crate::answer::{Answer, Evidence as HitEvidence, Hit, Question, Verdict};
use crate::embed::Model;
use crate::config::SearchConfig;
use crate::index::Index;
use crate::Error;

use display::Display;
use query::{Query, Reading};
use rerank::{Candidate, Matcher, Stage};
use retrieve::Lookup;
use semantic::Semantic;

/// How many of the closest sections a "not covered" reply names.
const HINTS: usize = 3;

pub struct Engine {
    index: Index,
    config: SearchConfig,
    stages: Vec<Box<dyn Stage>>,
    /// The semantic stage's model; none: lexical search only.
    semantic: Option<Semantic>,
}

impl Engine {
    /// An engine over `index`; with a `model`, the semantic stage takes part.
    pub fn new(index: Index, config: SearchConfig, model: Option<Arc<Model>>) -> Self {
        Engine {
            stages: rerank::stages(&config),
            index,
            config,
            semantic: model.map(Semantic::new),
        }
    }

    /// Whether the model takes part in the answers.
    pub fn semantic(&self) -> bool {
        self.semantic.is_some()
    }

    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Answers `question` with at most `top` ranked passages.
    pub fn ask(&self, question: &Question, top: usize) -> Result<Answer, Error> {
        let text = question.text.as_str();
        let top = top.max(1);
        let mut answer = Answer::empty(text, Verdict::NotCovered);
        let limit = self.config.max_question_chars;
        let read = match text.char_indices().nth(limit) {
            Some((cut, _)) => {
                answer.notice = Some(format!(
                    "Only the first {limit} characters of the question were read."
                ));
                &text[..cut]
            }
            None => text,
        };
        let lookup = Lookup::new(&self.index);
        let query = match query::read(&lookup, &self.config, read)? {
            Reading::Greeting => {
                answer.verdict = Verdict::Greeting;
                return Ok(answer);
            }
            Reading::Empty => return Ok(answer),
            Reading::Query(query) => query,
        };
        answer.known_share = query.known_share;

        let mut retrieved =
            retrieve::candidates(&lookup, &query.concepts, self.config.candidates.max(top))?;
        let question_vector = self.semantic.as_ref().map(|s| s.encode(read));
        if let (Some(semantic), Some(q)) = (&self.semantic, &question_vector) {
            for address in semantic.nearest(&self.index, q, self.config.semantic_candidates) {
                if !retrieved.iter().any(|r| r.address == address) {
                    retrieved.push(retrieve::passage(&lookup, address)?);
                }
            }
        }
        let matcher = Matcher::new(&query.concepts);
        let mut candidates: Vec<Candidate> = retrieved
            .into_iter()
            .map(|r| {
                let similarity = match (&self.semantic, &question_vector) {
                    (Some(semantic), Some(q)) => Some(semantic.similarity(
                        &self.index,
                        r.address,
                        &r.stored.passage.text,
                        q,
                    )),
                    _ => None,
                };
                let mut c = Candidate::new(r, &matcher);
                c.similarity = similarity;
                c
            })
            .collect();
        for stage in &self.stages {
            stage.score(&query, &mut candidates);
        }
        candidates.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.stored.passage.ordinal.cmp(&b.stored.passage.ordinal))
        });
        let evidence = Evidence::of(&candidates);
        let best_bm25 = candidates
            .iter()
            .map(|c| c.bm25)
            .fold(f32::EPSILON, f32::max);
        candidates.truncate(top);
        answer.hits = hits(candidates, &query, best_bm25);
        answer.hints = display::closest_sections(&answer.hits, HINTS);
        if query.syntax && answer.notice.is_none() {
            answer.notice = Some(query::SYNTAX_NOTICE.to_string());
        }
        answer.objections = self.objections(&lookup, &query, &evidence)?;
        answer.confidence = self.confidence(&answer);
        if answer.objections.is_empty() && self.confident(&answer) {
            answer.verdict = Verdict::Answered;
        }
        Ok(answer)
    }

    /// The verdict's one score: with the model, the best passage's closeness
    /// in meaning plus its share of the question's words; without, that share.
    fn confidence(&self, answer: &Answer) -> f32 {
        let Some(top) = answer.hits.first() else {
            return 0.0;
        };
        match top.evidence.sentence_similarity {
            Some(similarity) => {
                self.config.confidence_similarity * similarity
                    + self.config.confidence_coverage * top.coverage
            }
            None => top.coverage,
        }
    }

    /// Whether the confidence clears the threshold fitted for it.
    fn confident(&self, answer: &Answer) -> bool {
        match answer.hits.first() {
            Some(top) if top.evidence.sentence_similarity.is_some() => {
                answer.confidence >= self.config.min_confidence
            }
            Some(_) => {
                answer.known_share >= self.config.min_known_share
                    && answer.confidence >= self.config.min_coverage
            }
            None => false,
        }
    }

    /// The rules that decline the question whatever its score: it is about
    /// something the corpus does not cover, or asks what the passages cannot say.
    fn objections(
        &self,
        lookup: &Lookup,
        query: &Query,
        evidence: &Evidence,
    ) -> Result<Vec<&'static str>, Error> {
        let mut objections = Vec::new();
        if query.syntax {
            objections.push("query syntax");
        }
        if !self.config.verdict_rules {
            return Ok(objections);
        }
        // A name the question is about ("how much does Kymriah cost") that the
        // best passage never mentions: the passage answers another question.
        let name_missing = query
            .concepts
            .iter()
            .zip(&evidence.top_weights)
            .any(|(c, &w)| c.capitalized && c.known > 0.0 && w == 0.0);
        let undefined = match &query.subject {
            Some(_) if query.expansion => !evidence.defined,
            // "What is base editing": a term the corpus never uses, though it uses its words.
            Some(_) if query.compound && !evidence.any_close => true,
            Some(subject) if !evidence.defined => self.is_generic(lookup, subject)?,
            _ => false,
        };
        for (objects, why) in [
            (query.unknown_name, "a name the corpus never uses"),
            (name_missing, "a name the best passage lacks"),
            (undefined, "no passage defines the subject"),
        ] {
            if objects {
                objections.push(why);
            }
        }
        Ok(objections)
    }

    /// Whether a "what is X" subject is a word so common in the corpus that only
    /// a passage defining it answers the question ("what is a gene" in an
    /// article where nearly every passage says "gene").
    fn is_generic(&self, lookup: &Lookup, subject: &[String]) -> Result<bool, Error> {
        if subject.len() > 2 {
            // "What are some diseases gene therapy might treat": facts, not a definition.
            return Ok(false);
        }
        let n = lookup.passages().max(1) as f32;
        for stem in subject {
            if (lookup.doc_freq(stem)? as f32) < self.config.generic_share * n {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// What the verdict needs to know of the whole ranking.
struct Evidence {
    /// How strongly the best passage holds each concept (0: not at all).
    top_weights: Vec<f32>,
    /// Some candidate holds two neighbouring question words close together.
    any_close: bool,
    /// Some candidate defines the subject of a "what is X" question.
    defined: bool,
}

impl Evidence {
    /// Read from all candidates, best first.
    fn of(candidates: &[Candidate]) -> Self {
        Evidence {
            top_weights: candidates
                .first()
                .map(|c| c.signals.best_weight.clone())
                .unwrap_or_default(),
            any_close: candidates.iter().any(|c| c.signals.proximity > 0.0),
            defined: candidates.iter().any(|c| c.defines_subject),
        }
    }
}

/// The candidates as ranked hits, with what is shown of each.
fn hits(candidates: Vec<Candidate>, query: &Query, best_bm25: f32) -> Vec<Hit> {
    candidates
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let display = Display::of(&c.stored.analysed, &c.matches, &query.concepts);
            Hit {
                rank: i + 1,
                score: c.score,
                best_sentence: display.best_sentence,
                highlights: display.highlights,
                matched_terms: display.matched_terms,
                coverage: c.signals.coverage,
                evidence: HitEvidence {
                    bm25: c.bm25 / best_bm25,
                    proximity: c.signals.proximity,
                    similarity: c.similarity.map(|s| s.0),
                    sentence_similarity: c.similarity.map(|s| s.1),
                    defines: c.defines_subject,
                    answer_kind: c.answer_kind,
                    bare_label: c.bare_label,
                },
                passage: c.stored.passage.clone(),
            }
        })
        .collect()
}
