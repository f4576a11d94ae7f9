//! From a question to ranked, cited passages, in stages that hand each other
//! plain data:
//!
//! 0. [`context`]: a follow-up that leans on its conversation borrows the
//!    earlier turns' words, weighted below its own.
//! 1. [`query`]: the question is analysed like the corpus (never parsed as
//!    query syntax); each content word becomes a concept with its
//!    alternatives (typo corrections, synonyms, acronyms) and its rarity.
//! 2. [`retrieve`]: the index fetches candidates by BM25, and [`semantic`]
//!    adds the passages nearest the question by the model's embeddings.
//! 3. [`rerank`]: each candidate is matched against the concepts, and a list
//!    of stages scores how much of the question it holds, how close it is in
//!    meaning, and whether it holds the kind of answer asked for.
//! 4. The verdict: one confidence score (how close the nearest candidate
//!    sentence comes in meaning, and the best passage's share of the
//!    question) against one threshold decides "not covered". Where it is
//!    near enough the threshold, a second model's view of the nearest
//!    candidate sentence joins the score.
//! 5. [`display`]: the best sentence and matched words of the passages shown.

mod context;
mod display;
mod query;
mod rerank;
mod retrieve;
mod semantic;

use std::sync::Arc;

use tantivy::DocAddress;

use crate::answer::{Answer, Evidence, Hit, Question, Verdict};
use crate::config::SearchConfig;
use crate::embed::Model;
use crate::index::Index;
use crate::Error;

use context::{Carried, Stance};
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
    /// The verdict's second opinion; none: the semantic stage's score alone.
    second: Option<Semantic>,
}

/// An answer whose verdict may wait for the second opinion.
struct Draft<'t> {
    answer: Answer,
    /// Set when the second opinion can change the verdict.
    undecided: Option<Undecided<'t>>,
}

/// What the second opinion reads: the candidates and the question as read.
struct Undecided<'t> {
    candidates: Vec<DocAddress>,
    text: &'t str,
}

impl Draft<'_> {
    fn decided(answer: Answer) -> Self {
        Draft {
            answer,
            undecided: None,
        }
    }
}

impl Engine {
    /// An engine over `index`; with a `model`, the semantic stage takes part.
    pub fn new(index: Index, config: SearchConfig, model: Option<Arc<Model>>) -> Self {
        Engine {
            stages: rerank::stages(&config, model.is_some()),
            index,
            config,
            semantic: model.map(Semantic::new),
            second: None,
        }
    }

    /// The same engine with `model`'s opinion joining the verdict (only
    /// beside the semantic stage's, whose score it adjusts).
    pub fn with_second_opinion(mut self, model: Option<Arc<Model>>) -> Self {
        self.second = model.filter(|_| self.semantic.is_some()).map(Semantic::new);
        self
    }

    /// Whether the second opinion can take part: its model is loaded and
    /// the index holds the passages' vectors by it.
    pub fn second_opinion(&self) -> bool {
        self.second
            .as_ref()
            .is_some_and(|s| s.vectors(&self.index).is_some())
    }

    /// Whether the model takes part in the answers.
    pub fn semantic(&self) -> bool {
        self.semantic.is_some()
    }

    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Answers `question` with at most `top` ranked passages; a follow-up
    /// that leans on its conversation with the conversation's subject carried
    /// over (and says so in `understood_as`); a question that opens by
    /// starting afresh ("btw, …") on its own, without that opening.
    pub fn ask(&self, question: &Question, top: usize) -> Result<Answer, Error> {
        let plan = self.plan(question)?;
        let vectors = self.encode(&plan.texts());
        let pending = self.draft(question, plan, top, vectors)?;
        let opinion = match (&self.second, pending.undecided()) {
            (Some(second), Some(text)) => Some(second.encode(text)),
            _ => None,
        };
        Ok(self.complete(pending, opinion.as_deref()))
    }

    /// Answers `questions`, in order, as [`Engine::ask`] would one by one,
    /// on up to `threads` threads. Each thread encodes its share of the
    /// questions in one pass of the model, which costs a question about
    /// half of what encoding it alone does.
    pub fn ask_many(
        &self,
        questions: &[Question],
        top: usize,
        threads: usize,
    ) -> Vec<Result<Answer, Error>> {
        let share = questions.len().div_ceil(threads.max(1)).max(1);
        if share >= questions.len() {
            // One share: answered on this thread, without starting another.
            return self.ask_together(questions, top);
        }
        std::thread::scope(|scope| {
            let workers: Vec<_> = questions
                .chunks(share)
                .map(|chunk| scope.spawn(move || self.ask_together(chunk, top)))
                .collect();
            workers
                .into_iter()
                .flat_map(|w| match w.join() {
                    Ok(answers) => answers,
                    Err(panic) => std::panic::resume_unwind(panic),
                })
                .collect()
        })
    }

    /// Answers `questions` on this thread, each model encoding all of them
    /// (follow-ups with their conversation's words) in one pass.
    fn ask_together(&self, questions: &[Question], top: usize) -> Vec<Result<Answer, Error>> {
        let plans: Vec<Result<Plan, Error>> = questions.iter().map(|q| self.plan(q)).collect();
        let mut vectors = {
            let texts: Vec<&str> = plans.iter().flatten().flat_map(Plan::texts).collect();
            self.encode(&texts).into_iter()
        };
        let pending: Vec<Result<Pending, Error>> = questions
            .iter()
            .zip(plans)
            .map(|(q, plan)| {
                let plan = plan?;
                let own = plan
                    .texts()
                    .iter()
                    .map(|_| vectors.next().flatten())
                    .collect();
                self.draft(q, plan, top, own)
            })
            .collect();
        // The questions the second opinion can decide, encoded together too.
        let undecided: Vec<&str> = pending
            .iter()
            .flatten()
            .filter_map(Pending::undecided)
            .collect();
        let mut opinions = match &self.second {
            Some(second) if !undecided.is_empty() => second.encode_batch(&undecided),
            _ => Vec::new(),
        }
        .into_iter();
        pending
            .into_iter()
            .map(|pending| {
                let pending = pending?;
                let opinion = pending.undecided().and_then(|_| opinions.next());
                Ok(self.complete(pending, opinion.as_deref()))
            })
            .collect()
    }

    /// How `question` is to be read: on its own words, or with the words
    /// its conversation lends it, fully where it leans on the turns before
    /// and at a lesser weight, for the ranking only, where it is worded to
    /// stand alone.
    fn plan<'q>(&self, question: &'q Question) -> Result<Plan<'q>, Error> {
        let read = self.read_part(&question.text);
        if question.earlier.is_empty() || read.afresh {
            return Ok(Plan::Alone(read));
        }
        let tokens = crate::analysis::tokens(read.text);
        let stance = context::stance(&tokens);
        if stance == Stance::Fresh {
            return Ok(Plan::Alone(read));
        }
        let lookup = Lookup::new(&self.index);
        let carried = context::carried(&lookup, &self.config, &question.earlier, &tokens)?;
        if carried.is_empty() {
            return Ok(Plan::Alone(read));
        }
        let understood = context::understood(read.text, &carried);
        if stance == Stance::Leans {
            return Ok(Plan::Leans {
                read,
                carried,
                understood,
            });
        }
        // A question worded to stand alone may still mean the conversation's
        // subject: its words, at a lesser weight (less still without a
        // definite description: "monitoring treated patients" is more often
        // a new subject than "which vector corrects the stem cells?"), help
        // choose among the passages without outweighing the question's own.
        // Whether the corpus answers it at all is judged on its own words, so
        // that the conversation cannot make an unrelated question ("what is
        // the capital of Peru?") look covered; and what later turns carry
        // from it is what it asked, not what it was lent.
        let share = context::lent_share(stance);
        let carried = carried
            .into_iter()
            .map(|c| Carried {
                weight: c.weight * share,
                ..c
            })
            .collect();
        Ok(Plan::Lent {
            read,
            carried,
            understood,
        })
    }

    /// `texts` encoded in one pass by the semantic stage's model (one text
    /// is a pass of one, as [`Semantic::encode`] makes it); nothing without one.
    fn encode(&self, texts: &[&str]) -> Vec<Option<Vec<f32>>> {
        match &self.semantic {
            Some(semantic) => semantic.encode_batch(texts).into_iter().map(Some).collect(),
            None => texts.iter().map(|_| None).collect(),
        }
    }

    /// The answers `plan` makes of `question`, its texts encoded as
    /// `vectors` ([`Plan::texts`]' order), their verdict still to settle.
    fn draft<'q>(
        &self,
        question: &Question,
        plan: Plan<'q>,
        top: usize,
        vectors: Vec<Option<Vec<f32>>>,
    ) -> Result<Pending<'q>, Error> {
        let mut vectors = vectors.into_iter().flatten();
        match plan {
            Plan::Alone(read) => Ok(Pending::One(self.answer(
                question,
                read,
                top,
                vectors.next(),
                &[],
            )?)),
            Plan::Leans {
                read,
                carried,
                understood,
            } => {
                let mut draft = self.answer(question, read, top, vectors.next(), &carried)?;
                draft.answer.understood_as = Some(understood);
                draft.answer.leaned = true;
                Ok(Pending::One(draft))
            }
            Plan::Lent {
                read,
                carried,
                understood,
            } => {
                let alone = self.answer(question, read.clone(), top, vectors.next(), &[])?;
                if alone.answer.verdict == Verdict::Greeting {
                    return Ok(Pending::One(alone));
                }
                // This reading only ranks: its verdict is the reading
                // alone's, and the second opinion is not asked of it.
                let ranked = self
                    .answer(question, read, top, vectors.next(), &carried)?
                    .answer;
                Ok(Pending::Lent {
                    alone,
                    ranked,
                    understood,
                })
            }
        }
    }

    /// The answer `pending` comes to, with the second opinion's encoding of
    /// the question where it was asked for ([`Pending::undecided`]).
    fn complete(&self, pending: Pending, opinion: Option<&[f32]>) -> Answer {
        let settle = |draft: Draft| match opinion {
            Some(opinion) => self.settle(draft, opinion),
            None => draft.answer,
        };
        match pending {
            Pending::One(draft) => settle(draft),
            Pending::Lent {
                alone,
                mut ranked,
                understood,
            } => {
                let alone = settle(alone);
                // Said only where the conversation's words changed the
                // answer: a new subject that finds what it found alone was
                // read on its own.
                ranked.understood_as =
                    (top_passage(&ranked) != top_passage(&alone)).then_some(understood);
                ranked.verdict = alone.verdict;
                ranked.confidence = alone.confidence;
                ranked.second_similarity = alone.second_similarity;
                ranked.objections = alone.objections;
                ranked
            }
        }
    }

    /// The part of `text` that is read: without an opening that only says
    /// a new subject starts ("btw, …"), and its first `max_question_chars`
    /// characters, with the notice saying so when cut.
    fn read_part<'t>(&self, text: &'t str) -> Read<'t> {
        let (asked, afresh) = context::fresh_start(text);
        let text = if afresh { asked } else { text };
        let limit = self.config.max_question_chars;
        let (text, notice) = match text.char_indices().nth(limit) {
            Some((cut, _)) => (
                &text[..cut],
                Some(format!(
                    "Only the first {limit} characters of the question were read."
                )),
            ),
            None => (text, None),
        };
        Read {
            text,
            notice,
            afresh,
        }
    }

    /// [`Engine::ask`] for `question`, of which `read` is what is read, with
    /// the words `carried` from its conversation, and its embedding when it
    /// is known already; the verdict is the semantic stage's, to be settled
    /// by the second opinion when the draft says it is undecided.
    fn answer<'t>(
        &self,
        question: &Question,
        read: Read<'t>,
        top: usize,
        question_vector: Option<Vec<f32>>,
        carried: &[Carried],
    ) -> Result<Draft<'t>, Error> {
        let top = top.max(1);
        let mut answer = Answer::empty(&question.text, Verdict::NotCovered);
        let Read {
            text: read, notice, ..
        } = read;
        answer.notice = notice;
        let lookup = Lookup::new(&self.index);
        let query = match query::read(&lookup, &self.config, read, carried)? {
            Reading::Greeting => {
                answer.verdict = Verdict::Greeting;
                return Ok(Draft::decided(answer));
            }
            Reading::Empty => return Ok(Draft::decided(answer)),
            Reading::Query(query) => query,
        };
        answer.known_share = query.known_share;

        let mut retrieved =
            retrieve::candidates(&lookup, &query.concepts, self.config.candidates.max(top))?;
        let question_vector = match (&self.semantic, question_vector) {
            (Some(semantic), None) => Some(semantic.encode(read)),
            (_, known) => known,
        };
        if let (Some(semantic), Some(q)) = (&self.semantic, &question_vector) {
            for address in semantic.nearest(&self.index, q, self.config.semantic_candidates) {
                if !retrieved.iter().any(|r| r.address == address) {
                    retrieved.push(retrieve::passage(&lookup, address)?);
                }
            }
        }
        let addresses: Vec<DocAddress> = retrieved.iter().map(|r| r.address).collect();
        let matcher = Matcher::new(&query.concepts);
        let mut candidates: Vec<Candidate> = retrieved
            .into_iter()
            .map(|r| {
                let similarity = match (&self.semantic, &question_vector) {
                    (Some(semantic), Some(q)) => {
                        Some(semantic.similarity(&self.index, r.address, &r.stored.passage.text, q))
                    }
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
        let best_bm25 = rerank::best_bm25(&candidates);
        answer.nearest_similarity = candidates
            .iter()
            .filter_map(|c| c.similarity.map(|s| s.1))
            .reduce(f32::max);
        candidates.truncate(top);
        answer.hits = hits(candidates, &query, best_bm25);
        answer.hints = display::closest_sections(&answer.hits, HINTS);
        if query.syntax && answer.notice.is_none() {
            answer.notice = Some(query::SYNTAX_NOTICE.to_string());
        }
        answer.objections = Self::objections(&query);
        answer.confidence = self.confidence(&answer);
        let follow_up = !carried.is_empty();
        if answer.objections.is_empty() && self.confident(&answer, follow_up) {
            answer.verdict = Verdict::Answered;
        }
        let undecided = (answer.objections.is_empty() && !follow_up && self.undecided(&answer))
            .then_some(Undecided {
                candidates: addresses,
                text: read,
            });
        Ok(Draft { answer, undecided })
    }

    /// Whether the second opinion, wherever in its range, can move the
    /// answer's confidence to either side of the threshold.
    fn undecided(&self, answer: &Answer) -> bool {
        if answer.hits.is_empty() || answer.nearest_similarity.is_none() || !self.second_opinion() {
            return false;
        }
        let [low, high] = self.config.second_opinion_range;
        let clears =
            |opinion: f32| self.adjusted(answer.confidence, opinion) >= self.config.min_confidence;
        clears(low) != clears(high)
    }

    /// `confidence` moved by the second opinion `opinion`. The pivot is
    /// held inside the range, so that a question whose verdict no opinion
    /// can change keeps the one its confidence alone gives.
    fn adjusted(&self, confidence: f32, opinion: f32) -> f32 {
        let [low, high] = self.config.second_opinion_range;
        let within = |x: f32| x.clamp(low, high.max(low));
        confidence
            + self.config.second_opinion_weight
                * (within(opinion) - within(self.config.second_opinion_pivot))
    }

    /// The draft's answer with the second opinion joining its verdict, the
    /// question encoded by the second model as `question`.
    fn settle(&self, draft: Draft, question: &[f32]) -> Answer {
        let Draft {
            mut answer,
            undecided,
        } = draft;
        let (Some(second), Some(undecided)) = (&self.second, undecided) else {
            return answer;
        };
        let Some(opinion) = second.nearest_sentence(&self.index, &undecided.candidates, question)
        else {
            return answer;
        };
        answer.second_similarity = Some(opinion);
        answer.confidence = self.adjusted(answer.confidence, opinion);
        answer.verdict = if self.confident(&answer, false) {
            Verdict::Answered
        } else {
            Verdict::NotCovered
        };
        answer
    }

    /// The verdict's one score: with the model, how close the corpus comes
    /// to the question in meaning plus the best passage's share of the
    /// question's words; without, that share.
    fn confidence(&self, answer: &Answer) -> f32 {
        let Some(top) = answer.hits.first() else {
            return 0.0;
        };
        match answer.nearest_similarity {
            Some(similarity) => {
                self.config.confidence_similarity * similarity
                    + self.config.confidence_coverage * top.coverage
            }
            None => top.coverage,
        }
    }

    /// Whether the confidence clears the threshold fitted for it (for a
    /// `follow_up` read with carried words, its own).
    fn confident(&self, answer: &Answer, follow_up: bool) -> bool {
        if answer.hits.is_empty() {
            return false;
        }
        match answer.nearest_similarity {
            Some(_) if follow_up => answer.confidence >= self.config.min_confidence_follow_up,
            Some(_) => answer.confidence >= self.config.min_confidence,
            None => {
                answer.known_share >= self.config.min_known_share
                    && answer.confidence >= self.config.min_coverage
            }
        }
    }

    /// What declines the question whatever its score.
    fn objections(query: &Query) -> Vec<&'static str> {
        let mut objections = Vec::new();
        if query.syntax {
            objections.push("query syntax");
        }
        objections
    }
}

/// What is read of a question ([`Engine::read_part`]).
#[derive(Clone)]
struct Read<'t> {
    text: &'t str,
    /// Why less than the question was read, when it was cut.
    notice: Option<String>,
    /// It opened by starting afresh ("btw, …"), which is not read.
    afresh: bool,
}

/// How a question is read in its conversation ([`Engine::plan`]).
enum Plan<'q> {
    /// On its own words: a first question, one that starts afresh, one its
    /// conversation lends no word.
    Alone(Read<'q>),
    /// Leaning on the turns before: ranked and judged with the carried
    /// words, and encoded with them.
    Leans {
        read: Read<'q>,
        carried: Vec<Carried>,
        understood: String,
    },
    /// Worded to stand alone: ranked with the carried words at a lesser
    /// weight, judged on its own words.
    Lent {
        read: Read<'q>,
        carried: Vec<Carried>,
        understood: String,
    },
}

impl Plan<'_> {
    /// What the semantic stage's model encodes for it, in the order
    /// [`Engine::draft`] reads the vectors.
    fn texts(&self) -> Vec<&str> {
        match self {
            Plan::Alone(read) => vec![read.text],
            Plan::Leans { understood, .. } => vec![understood],
            Plan::Lent {
                read, understood, ..
            } => vec![read.text, understood],
        }
    }
}

/// A plan's answer, its verdict waiting for the second opinion.
enum Pending<'q> {
    One(Draft<'q>),
    /// Ranked with the lent words, the verdict that of the reading `alone`.
    Lent {
        alone: Draft<'q>,
        ranked: Answer,
        understood: String,
    },
}

impl Pending<'_> {
    /// What the second opinion is to encode, when it can change the verdict.
    fn undecided(&self) -> Option<&str> {
        let (Pending::One(draft) | Pending::Lent { alone: draft, .. }) = self;
        draft.undecided.as_ref().map(|u| u.text)
    }
}

/// Where `answer`'s first passage is: its file and its place in it.
fn top_passage(answer: &Answer) -> Option<(&str, u32)> {
    let passage = &answer.hits.first()?.passage;
    Some((passage.citation.file.as_str(), passage.ordinal))
}

/// The candidates as ranked hits, with what is shown of each.
fn hits(candidates: Vec<Candidate>, query: &Query, best_bm25: f32) -> Vec<Hit> {
    candidates
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            let display = Display::of(
                &c.stored.passage.text,
                &c.stored.analysed,
                &c.matches,
                &query.concepts,
            );
            let mut passage = c.stored.passage.clone();
            // The document's address, opening on this answer's sentence.
            if let Some(url) = &passage.citation.url {
                let link = crate::citation::link(
                    url,
                    &passage.text,
                    display.best_sentence.clone(),
                    passage.citation.fragment_edge,
                );
                passage.citation.url = Some(link);
            }
            Hit {
                rank: i + 1,
                score: c.score,
                best_sentence: display.best_sentence,
                highlights: display.highlights,
                matched_terms: display.matched_terms,
                coverage: c.signals.coverage,
                evidence: Evidence {
                    bm25: c.bm25 / best_bm25,
                    proximity: c.signals.proximity,
                    similarity: c.similarity.map(|s| s.0),
                    sentence_similarity: c.similarity.map(|s| s.1),
                },
                passage,
            }
        })
        .collect()
}
