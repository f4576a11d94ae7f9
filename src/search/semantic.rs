//! What the sentence-embedding model adds: the passages nearest the
//! question in meaning (found whatever words they use), and each
//! candidate's cosine with the question, for its passage and its best
//! sentence. Only the question is encoded at ask time when the build
//! embedded the passages; otherwise (a corpus too large to embed whole, an
//! index built without the model) the candidates are encoded as needed and
//! remembered for the next questions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tantivy::DocAddress;

use crate::embed::{cosine, Model};
use crate::index::{Index, PassageVectors, Vectors};

/// Most candidates' vectors remembered when they are encoded on demand.
const REMEMBERED: usize = 4096;

pub(crate) struct Semantic {
    model: Arc<Model>,
    remembered: Mutex<HashMap<DocAddress, Arc<PassageVectors>>>,
}

impl Semantic {
    pub fn new(model: Arc<Model>) -> Self {
        Semantic {
            model,
            remembered: Mutex::new(HashMap::new()),
        }
    }

    pub fn encode(&self, question: &str) -> Vec<f32> {
        self.model.encode_query(question)
    }

    pub fn encode_batch(&self, questions: &[&str]) -> Vec<Vec<f32>> {
        self.model.encode_queries(questions)
    }

    /// The index's vectors, if the build made them with this model.
    pub fn vectors<'i>(&self, index: &'i Index) -> Option<&'i Vectors> {
        index.vectors(&self.model)
    }

    /// The `k` passages whose embeddings are nearest `question`'s, nearest first.
    pub fn nearest(&self, index: &Index, question: &[f32], k: usize) -> Vec<DocAddress> {
        let Some(vectors) = self.vectors(index) else {
            return Vec::new();
        };
        let mut scored: Vec<(f32, DocAddress)> = vectors
            .passages()
            .map(|(address, v)| (cosine(question, v), address))
            .collect();
        let k = k.min(scored.len());
        if k == 0 {
            return Vec::new();
        }
        scored.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0));
        scored.truncate(k);
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        scored.into_iter().map(|(_, a)| a).collect()
    }

    /// The cosines of the passage at `address` (text `text`) with the
    /// question: its own, and its best sentence's (its own when it has one sentence).
    pub fn similarity(
        &self,
        index: &Index,
        address: DocAddress,
        text: &str,
        question: &[f32],
    ) -> (f32, f32) {
        let score = |v: &PassageVectors| closeness(v, question);
        if let Some(v) = self.vectors(index).and_then(|v| v.get(address)) {
            return score(v);
        }
        let known = self
            .remembered
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&address)
            .cloned();
        let v = match known {
            Some(v) => v,
            None => {
                // On demand the passage alone: its sentences would multiply the wait.
                let v = Arc::new(PassageVectors {
                    passage: self.model.encode(text),
                    sentences: Vec::new(),
                });
                let mut remembered = self.remembered.lock().unwrap_or_else(|e| e.into_inner());
                if remembered.len() >= REMEMBERED {
                    remembered.clear();
                }
                remembered.insert(address, Arc::clone(&v));
                v
            }
        };
        score(&v)
    }

    /// The best cosine of a sentence of the passages at `addresses` with
    /// `question`, from the index's vectors only; none without them.
    pub fn nearest_sentence(
        &self,
        index: &Index,
        addresses: &[DocAddress],
        question: &[f32],
    ) -> Option<f32> {
        let vectors = self.vectors(index)?;
        addresses
            .iter()
            .filter_map(|a| vectors.get(*a))
            .map(|v| closeness(v, question).1)
            .reduce(f32::max)
    }
}

/// The cosines of a passage with the question: its own, and its best
/// sentence's (its own when it has one sentence).
fn closeness(v: &PassageVectors, question: &[f32]) -> (f32, f32) {
    let passage = cosine(question, &v.passage);
    let sentence = v
        .sentences
        .iter()
        .map(|s| cosine(question, s))
        .fold(passage, f32::max);
    (passage, sentence)
}

#[cfg(test)]
mod tests {
    use crate::answer::{Question, Turn};
    use crate::config::SearchConfig;
    use crate::index::{self, Index};
    use crate::search::Engine;
    use crate::testing::{corpus_with, engine_with_model, model};

    // Issue 23: a follow-up read with carried words is judged against its
    // own threshold (its embedding holds the carried words too); a question
    // read on its own, in a conversation or not, against the usual one.
    #[test]
    fn a_follow_up_read_in_context_has_its_own_threshold() {
        let dir = corpus_with(
            "# T\n\n## Glybera\n\nGlybera treats lipoprotein lipase deficiency.\n\n\
             ## Price\n\nGlybera costs around one million euros per treatment.\n",
        );
        let built = engine_with_model(&dir);
        let engine = |min_confidence, min_confidence_follow_up| {
            let config = SearchConfig {
                min_confidence,
                min_confidence_follow_up,
                ..SearchConfig::default()
            };
            Engine::new(
                Index::open(&dir.path().join("index")).unwrap(),
                config,
                Some(model()),
            )
        };
        let first = built
            .ask(&Question::new("what does glybera treat"), 2)
            .unwrap();
        let follow_up = Question::after("how much does it cost?", vec![Turn::of(&first)]);
        let alone = Question::new("how much does glybera cost");
        let strict_alone = engine(f32::MAX, 0.0);
        assert!(strict_alone.ask(&follow_up, 2).unwrap().answered());
        assert!(!strict_alone.ask(&alone, 2).unwrap().answered());
        let strict_follow_up = engine(0.0, f32::MAX);
        assert!(!strict_follow_up.ask(&follow_up, 2).unwrap().answered());
        assert!(strict_follow_up.ask(&alone, 2).unwrap().answered());
    }

    // An index built without the model (or by a lexical-only run) has no
    // vectors: the candidates are encoded when asked about, not skipped.
    #[test]
    fn candidates_of_an_index_without_vectors_are_encoded_on_demand() {
        let dir = corpus_with(
            "# T\n\n## Price\n\nGlybera costs around one million euros per treatment.\n\n\
             ## Eyes\n\nLuxturna treats a retinal disease that leads to blindness.\n",
        );
        let (corpus_dir, index_dir) = (dir.path().join("corpus"), dir.path().join("index"));
        index::build(&corpus_dir, &index_dir).unwrap();
        let index = Index::open(&index_dir).unwrap();
        assert!(index.vectors(&model()).is_none());
        let engine = Engine::new(index, SearchConfig::default(), Some(model()));
        let answer = engine
            .ask(&Question::new("how much does glybera cost"), 2)
            .unwrap();
        let top = &answer.hits[0];
        assert!(top.passage.text.contains("Glybera"));
        assert!(top.evidence.similarity.is_some_and(|s| s > 0.3));
    }

    // Batch mode answers lines together on several threads: the order and
    // every answer must be those of asking one by one.
    #[test]
    fn questions_asked_together_get_the_answers_they_get_alone() {
        let dir = corpus_with(
            "# T\n\n## Price\n\nGlybera costs around one million euros per treatment.\n\n\
             ## Eyes\n\nLuxturna treats a retinal disease that leads to blindness.\n\n\
             ## Blood\n\nSickle cell disease is treated by editing blood stem cells.\n",
        );
        let engine = engine_with_model(&dir);
        let glybera = || {
            vec![Turn {
                question: "what is glybera".to_string(),
                answer: Some("Glybera costs around one million euros per treatment.".to_string()),
            }]
        };
        let mut questions: Vec<Question> = [
            "how much does glybera cost",
            "hello",
            "what cures going blind",
            "editing of stem cells",
            "the price of a treatment for the eyes",
            "unrelated: how much does glybera cost",
        ]
        .into_iter()
        .map(Question::new)
        .collect();
        // Follow-ups: one leaning on the turn before, one worded to stand
        // alone (ranked with the lent words), one starting afresh.
        for text in [
            "how much is it?",
            "which disease leads to blindness",
            "btw what cures going blind",
        ] {
            questions.push(Question::after(text, glybera()));
        }
        let together = engine.ask_many(&questions, 2, 2);
        assert_eq!(together.len(), questions.len());
        for (question, answer) in questions.iter().zip(together) {
            let (answer, alone) = (answer.unwrap(), engine.ask(question, 2).unwrap());
            assert_eq!(answer.question, question.text);
            assert_eq!(answer.verdict, alone.verdict, "{}", question.text);
            let texts = |a: &crate::answer::Answer| {
                a.hits
                    .iter()
                    .map(|h| h.passage.text.clone())
                    .collect::<Vec<_>>()
            };
            assert_eq!(texts(&answer), texts(&alone), "{}", question.text);
            assert!((answer.confidence - alone.confidence).abs() < 1e-4);
            assert_eq!(answer.understood_as, alone.understood_as);
            assert_eq!(answer.leaned, alone.leaned);
        }
        assert!(engine.ask(&questions[6], 2).unwrap().leaned);
    }

    // Issue 22: the second model is asked only when its opinion, anywhere in
    // its range, can carry the confidence across the threshold; then it
    // moves the confidence by its weight, in batch as alone.
    #[test]
    fn the_second_opinion_is_asked_only_where_it_can_change_the_verdict() {
        let dir = corpus_with(
            "# T\n\n## Price\n\nGlybera costs around one million euros per treatment.\n\n\
             ## Eyes\n\nLuxturna treats a retinal disease that leads to blindness.\n",
        );
        let index_dir = dir.path().join("index");
        let options = crate::index::BuildOptions {
            model: Some(model()),
            second_model: Some(crate::testing::second_model()),
            ..Default::default()
        };
        index::build_with(
            &dir.path().join("corpus"),
            &index_dir,
            &options,
            &mut |_| {},
        )
        .unwrap();
        let engine = |config: SearchConfig| {
            Engine::new(Index::open(&index_dir).unwrap(), config, Some(model()))
                .with_second_opinion(Some(crate::testing::second_model()))
        };
        let questions = [
            Question::new("what cures going blind"),
            Question::new("price of the glybera treatment"),
        ];
        let first = Engine::new(
            Index::open(&index_dir).unwrap(),
            SearchConfig::default(),
            Some(model()),
        );
        let always = SearchConfig {
            second_opinion_range: [-1.0, 1.0],
            second_opinion_weight: 0.5,
            second_opinion_pivot: 0.25,
            ..SearchConfig::default()
        };
        let never = SearchConfig {
            second_opinion_range: [0.6, 0.6],
            ..SearchConfig::default()
        };
        for question in &questions {
            let alone = first.ask(question, 2).unwrap();
            assert_eq!(alone.second_similarity, None);
            let asked = engine(always.clone());
            assert!(asked.second_opinion());
            let answer = asked.ask(question, 2).unwrap();
            let opinion = answer.second_similarity.expect("asked");
            assert!(opinion > 0.3 && opinion <= 1.0, "{opinion}");
            let moved = alone.confidence + 0.5 * (opinion - 0.25);
            assert!((answer.confidence - moved).abs() < 1e-4);
            assert_eq!(answer.answered(), moved >= always.min_confidence);
            let batch = asked.ask_many(std::slice::from_ref(question), 2, 1);
            let batch = batch.into_iter().next().unwrap().unwrap();
            assert_eq!(
                batch.second_similarity.map(|s| (s * 1e4).round()),
                Some((opinion * 1e4).round())
            );
            let skipped = engine(never.clone()).ask(question, 2).unwrap();
            assert_eq!(skipped.second_similarity, None);
            assert_eq!(skipped.confidence, alone.confidence);
            assert_eq!(skipped.verdict, alone.verdict);
        }
    }

    // The verdict reads how close the corpus comes to the question at all:
    // the best sentence of any candidate, which the top passage need not hold.
    #[test]
    fn the_verdict_reads_the_nearest_sentence_of_any_candidate() {
        let dir = corpus_with(
            "# T\n\n## Price\n\nGlybera costs around one million euros per treatment.\n\n\
             ## Eyes\n\nLuxturna treats a retinal disease that leads to blindness.\n",
        );
        let engine = engine_with_model(&dir);
        let answer = engine
            .ask(&Question::new("what cures going blind"), 2)
            .unwrap();
        let nearest = answer.nearest_similarity.expect("the model took part");
        for hit in &answer.hits {
            assert!(hit.evidence.sentence_similarity.unwrap() <= nearest);
        }
        let config = SearchConfig::default();
        let expected = config.confidence_similarity * nearest
            + config.confidence_coverage * answer.hits[0].coverage;
        assert!((answer.confidence - expected).abs() < 1e-5);
        let off_topic = engine
            .ask(&Question::new("who won the football world cup"), 2)
            .unwrap();
        assert!(off_topic.nearest_similarity.unwrap() < nearest);
        assert!(!off_topic.answered(), "{:?}", off_topic.confidence);
    }
}
