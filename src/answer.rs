//! What goes into the engine and what comes out: a [`Question`], and an
//! [`Answer`] of ranked [`Hit`]s with a [`Verdict`]. Plain data, so that
//! rendering, evaluation and the bot need nothing of the search engine's
//! insides.

use std::ops::Range;

use crate::passages::Passage;

/// A question as asked, and the conversation it was asked in.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Question {
    pub text: String,
    /// Earlier turns of the conversation, oldest first; empty for a question
    /// asked on its own. A follow-up that leans on them ("how much does it
    /// cost?") is answered with their subject carried over.
    pub earlier: Vec<Turn>,
}

/// One earlier turn of a conversation: what was asked and what answered it.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// The question as it was understood when it leaned on the turns before
    /// it (its words and those it carried, so a subject lasts through a
    /// conversation); otherwise as it was asked.
    pub question: String,
    /// The sentence that answered it, if it was answered: a follow-up may
    /// point at something named only there.
    pub answer: Option<String>,
}

impl Turn {
    /// The turn `answer` makes of its question in a conversation.
    pub fn of(answer: &Answer) -> Turn {
        Turn {
            question: match (&answer.understood_as, answer.leaned) {
                (Some(understood), true) => understood.clone(),
                _ => answer.question.clone(),
            },
            answer: (answer.verdict == Verdict::Answered)
                .then(|| answer.hits.first())
                .flatten()
                .map(|hit| hit.best_sentence_text().to_string()),
        }
    }
}

impl Question {
    pub fn new(text: impl Into<String>) -> Self {
        Question {
            text: text.into(),
            earlier: Vec::new(),
        }
    }

    /// `text` asked after `earlier` turns.
    pub fn after(text: impl Into<String>, earlier: Vec<Turn>) -> Self {
        Question {
            text: text.into(),
            earlier,
        }
    }
}

impl From<&str> for Question {
    fn from(text: &str) -> Self {
        Question::new(text)
    }
}

/// One ranked passage.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub rank: usize,
    pub score: f32,
    pub passage: Passage,
    /// Byte range in `passage.text` of the sentence that best answers.
    pub best_sentence: Range<usize>,
    /// Byte ranges in `passage.text` of the words that matched, sorted, disjoint.
    pub highlights: Vec<Range<usize>>,
    /// The passage's words that matched, lowercased, in order of appearance.
    pub matched_terms: Vec<String>,
    /// Share of the question's content (weighted by rarity) this passage holds.
    pub coverage: f32,
    /// What the ranking read in this passage.
    pub evidence: Evidence,
}

/// The signals a passage was ranked on, each as the stage that read it saw it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    /// BM25, scaled to the best candidate's (0 for one only the model found).
    pub bm25: f32,
    /// Share of neighbouring question words that stand close together.
    pub proximity: f32,
    /// Cosine of the passage's embedding with the question's (no model: none).
    pub similarity: Option<f32>,
    /// The best cosine of one of its sentences with the question.
    pub sentence_similarity: Option<f32>,
}

impl Hit {
    pub fn best_sentence_text(&self) -> &str {
        self.passage
            .text
            .get(self.best_sentence.clone())
            .unwrap_or(&self.passage.text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The hits answer the question.
    Answered,
    /// The article does not cover the question; `hints` name the closest sections.
    NotCovered,
    /// A greeting or a call for help: show how to ask.
    Greeting,
}

impl Verdict {
    /// The verdict's name in JSON and in the feedback log.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Answered => "answered",
            Verdict::NotCovered => "not_covered",
            Verdict::Greeting => "greeting",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub question: String,
    pub verdict: Verdict,
    /// Ranked passages; present even when not covered, for evaluation. Show
    /// them as answers only when `verdict` is `Answered`.
    pub hits: Vec<Hit>,
    /// Closest sections, for a "not covered" reply.
    pub hints: Vec<String>,
    /// Something the user should know about how the question was read.
    pub notice: Option<String>,
    /// For a follow-up answered with its conversation's subject carried
    /// over: the question as understood, e.g. "how much does it cost?
    /// (Strimvelis)". None for a question read on its own.
    pub understood_as: Option<String>,
    /// It leaned on the conversation (a pronoun, "and …?", too few words of
    /// its own): later turns carry `understood_as`. A question of its own
    /// words that the conversation's words only helped rank ("the receptor
    /// recognises what?") lends them its own words.
    pub leaned: bool,
    /// Share of the question's content words the corpus knows (rarity-weighted).
    pub known_share: f32,
    /// The closest any candidate's sentence came to the question in meaning
    /// (cosine), whatever its rank; none without a model. How near the
    /// corpus comes to the question at all says more about whether it is
    /// covered than the top passage's own closeness, which the lexical
    /// signals also steer.
    pub nearest_similarity: Option<f32>,
    /// The same by the second opinion's model, when the verdict asked it.
    pub second_similarity: Option<f32>,
    /// How sure the search is that the best passage answers: the verdict
    /// compares it with one threshold.
    pub confidence: f32,
    /// The rules that declined the question whatever its confidence
    /// ("unknown name", …); empty when none objected.
    pub objections: Vec<&'static str>,
}

impl Answer {
    /// An answer with nothing in it yet: "not covered" until shown otherwise.
    pub fn empty(question: &str, verdict: Verdict) -> Self {
        Answer {
            question: question.to_string(),
            verdict,
            hits: Vec::new(),
            hints: Vec::new(),
            notice: None,
            understood_as: None,
            leaned: false,
            known_share: 0.0,
            nearest_similarity: None,
            second_similarity: None,
            confidence: 0.0,
            objections: Vec::new(),
        }
    }

    pub fn answered(&self) -> bool {
        self.verdict == Verdict::Answered
    }
}
