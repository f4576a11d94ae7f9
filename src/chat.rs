//! A conversation: the turns so far, so that each question is asked after
//! them, and the last question, so that "more" can show its next passages.
//! `citebot chat` keeps one, and the bot one a thread.

use crate::answer::{Answer, Question, Turn};
use crate::search::Engine;
use crate::Error;

/// Turns a conversation remembers; the context stage reads only the last few.
const REMEMBERED: usize = 8;

#[derive(Debug, Default, Clone)]
pub struct Conversation {
    earlier: Vec<Turn>,
    /// The last question, as asked (with its turns before), and how many of
    /// its passages have been shown.
    last: Option<(Question, usize)>,
}

/// What a line of a chat is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    Ask(&'a str),
    /// `/new`: forget the conversation.
    New,
    /// `/more`: the last question's next passages.
    More,
    /// `/quit` (or `/exit`).
    Quit,
    /// A `/word` that is none of these.
    Unknown(&'a str),
    Empty,
}

impl<'a> Line<'a> {
    pub fn parse(line: &'a str) -> Line<'a> {
        let line = line.trim();
        match line {
            "" => Line::Empty,
            "/new" => Line::New,
            "/more" => Line::More,
            "/quit" | "/exit" => Line::Quit,
            _ if line.starts_with('/') && !line.contains(char::is_whitespace) => {
                Line::Unknown(line)
            }
            _ => Line::Ask(line),
        }
    }
}

impl Conversation {
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers `text` after the turns so far, and remembers it as a turn.
    pub fn ask(&mut self, engine: &Engine, text: &str, top: usize) -> Result<Answer, Error> {
        let question = self.question(text);
        let answer = engine.ask(&question, top)?;
        self.record(question, &answer, top);
        Ok(answer)
    }

    /// `text` as the next question of this conversation: for a caller that
    /// asks the engine itself (the bot, off its gateway threads), then
    /// [`Conversation::record`]s the answer.
    pub fn question(&self, text: &str) -> Question {
        Question::after(text, self.earlier.clone())
    }

    /// Remembers `answer` (with `top` passages shown) to `question` as a turn.
    pub fn record(&mut self, question: Question, answer: &Answer, top: usize) {
        self.earlier.push(Turn::of(answer));
        if self.earlier.len() > REMEMBERED {
            self.earlier.remove(0);
        }
        self.last = Some((question, top));
    }

    /// The next `top` passages of the last question, ranked as before; none
    /// when nothing was asked yet. An answer with no hits when none are left.
    pub fn more(&mut self, engine: &Engine, top: usize) -> Result<Option<Answer>, Error> {
        let Some((question, shown)) = &mut self.last else {
            return Ok(None);
        };
        let mut answer = engine.ask(question, *shown + top)?;
        let from = (*shown).min(answer.hits.len());
        answer.hits.drain(..from);
        *shown += answer.hits.len();
        Ok(Some(answer))
    }

    /// Forgets the conversation.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    pub fn turns(&self) -> usize {
        self.earlier.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{corpus_with, engine_with_model as engine};

    const CORPUS: &str =
        "# T\n\n## Glybera\n\nGlybera treats lipoprotein lipase deficiency with an \
        adeno-associated vector.\n\n## Luxturna\n\nLuxturna treats a retinal dystrophy that leads \
        to blindness.\n\n## Prices\n\nGlybera costs around one million euros. Luxturna costs \
        less.\n\n## Trials\n\nAround two thousand clinical trials have been run since 1989.\n";

    // Issue 23: a follow-up that leans on the turn before ("it") is asked
    // about that turn's subject, and says so; "btw" starts afresh.
    #[test]
    fn a_follow_up_carries_the_subject_and_btw_starts_afresh() {
        let dir = corpus_with(CORPUS);
        let engine = engine(&dir);
        let mut chat = Conversation::new();
        let first = chat.ask(&engine, "what does glybera treat", 2).unwrap();
        assert!(first.understood_as.is_none());
        let follow_up = chat.ask(&engine, "how much does it cost?", 2).unwrap();
        let understood = follow_up.understood_as.clone().unwrap();
        assert!(
            understood.to_lowercase().contains("glybera"),
            "{understood}"
        );
        assert!(follow_up.hits[0].passage.text.contains("Glybera costs"));
        let fresh = chat
            .ask(&engine, "btw how many clinical trials were run", 2)
            .unwrap();
        assert!(fresh.understood_as.is_none());
        assert_eq!(fresh.question, "btw how many clinical trials were run");
        let plain = engine
            .ask(&Question::new("how many clinical trials were run"), 2)
            .unwrap();
        assert_eq!(
            fresh.confidence, plain.confidence,
            "btw is no word of the question"
        );
        assert_eq!(chat.turns(), 3);
        chat.reset();
        let alone = chat.ask(&engine, "how much does it cost?", 2).unwrap();
        assert!(
            alone.understood_as.is_none(),
            "a new conversation carries nothing"
        );
    }

    #[test]
    fn more_shows_the_next_passages_of_the_last_question() {
        let dir = corpus_with(CORPUS);
        let engine = engine(&dir);
        let mut chat = Conversation::new();
        assert!(chat.more(&engine, 1).unwrap().is_none());
        let first = chat.ask(&engine, "what does glybera treat", 1).unwrap();
        let more = chat.more(&engine, 1).unwrap().unwrap();
        assert_eq!(more.hits.len(), 1);
        assert_eq!(more.hits[0].rank, 2);
        assert_ne!(more.hits[0].passage.text, first.hits[0].passage.text);
        let after = chat.more(&engine, 1).unwrap().unwrap();
        assert_eq!(after.hits[0].rank, 3);
    }

    #[test]
    fn chat_lines_are_commands_or_questions() {
        assert_eq!(Line::parse(" /new "), Line::New);
        assert_eq!(Line::parse("/more"), Line::More);
        assert_eq!(Line::parse("/quit"), Line::Quit);
        assert_eq!(Line::parse("/frobnicate"), Line::Unknown("/frobnicate"));
        assert_eq!(
            Line::parse("/ what is AAV"),
            Line::Ask("/ what is AAV"),
            "a slash and words is a question"
        );
        assert_eq!(Line::parse("   "), Line::Empty);
        assert_eq!(Line::parse("why?"), Line::Ask("why?"));
    }
}
