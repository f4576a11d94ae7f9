//! Answer quality on conversations: each turn is asked after the turns before
//! it, as the bot answered them, and scored as a question of `shared/eval`
//! is. Follow-ups are also asked alone (no conversation) and in their
//! hand-written standalone wording: the gap between the three is what the
//! conversation adds, and what it still lacks.

use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

use super::{EvalError, Tally};
use crate::answer::{Answer, Question, Turn};
use crate::search::Engine;

#[derive(Debug, Clone, Deserialize)]
pub struct Conversation {
    pub id: String,
    pub turns: Vec<ConversationTurn>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ConversationTurn {
    pub question: String,
    /// The question rewritten to stand alone (the same where it does).
    pub standalone: String,
    #[serde(default)]
    pub answers: Vec<String>,
    pub answerable: bool,
    /// `first`, `followup`, `switch` or `unanswerable`.
    pub kind: String,
}

/// Whether the file at `path` holds conversations (its first object has `turns`).
pub fn is_conversations(path: &Path) -> bool {
    use std::io::BufRead;
    std::fs::File::open(path).is_ok_and(|file| {
        std::io::BufReader::new(file)
            .lines()
            .map_while(Result::ok)
            .find(|l| !l.trim().is_empty())
            .and_then(|l| serde_json::from_str::<serde_json::Value>(&l).ok())
            .is_some_and(|v| v.get("turns").is_some())
    })
}

pub fn load(path: &Path) -> Result<Vec<Conversation>, EvalError> {
    super::load_lines(path)
}

/// The rows of the report, each a tally of turns asked one way.
#[derive(Debug, Clone, Default)]
pub struct ConversationReport {
    pub first: Tally,
    pub followups: Tally,
    pub followups_alone: Tally,
    pub followups_standalone: Tally,
    pub switches: Tally,
    pub switches_standalone: Tally,
    pub unanswerable: Tally,
    /// Follow-ups answered with their conversation's subject carried over.
    pub carried: usize,
    pub misses: Vec<String>,
}

/// Runs every conversation, looking at the first `top` passages of each turn.
pub fn run(
    engine: &Engine,
    conversations: &[Conversation],
    top: usize,
) -> Result<ConversationReport, EvalError> {
    let mut report = ConversationReport::default();
    let top = top.max(1);
    for conversation in conversations {
        let mut earlier: Vec<Turn> = Vec::new();
        for (i, turn) in conversation.turns.iter().enumerate() {
            let answer = engine.ask(&Question::after(&turn.question, earlier.clone()), top)?;
            let rank = tally(
                turn,
                &answer,
                match turn.kind.as_str() {
                    "first" => &mut report.first,
                    "switch" => &mut report.switches,
                    "unanswerable" => &mut report.unanswerable,
                    _ => &mut report.followups,
                },
            );
            if turn.kind == "followup" {
                report.carried += usize::from(answer.understood_as.is_some());
                let alone = engine.ask(&Question::new(&turn.question), top)?;
                tally(turn, &alone, &mut report.followups_alone);
            }
            if matches!(turn.kind.as_str(), "followup" | "switch") {
                let standalone = engine.ask(&Question::new(&turn.standalone), top)?;
                let tally_of = if turn.kind == "switch" {
                    &mut report.switches_standalone
                } else {
                    &mut report.followups_standalone
                };
                tally(turn, &standalone, tally_of);
            }
            let wrong = if turn.answerable {
                rank != Some(0) || !answer.answered()
            } else {
                answer.answered()
            };
            if wrong {
                report.misses.push(format!(
                    "{}.{} {:<12} rank {:>2} answered {:<5} {}{}",
                    conversation.id,
                    i + 1,
                    turn.kind,
                    rank.map_or("-".to_string(), |r| (r + 1).to_string()),
                    answer.answered(),
                    turn.question,
                    answer
                        .understood_as
                        .as_deref()
                        .map(|u| format!("  [understood as: {u}]"))
                        .unwrap_or_default(),
                ));
            }
            earlier.push(Turn::of(&answer));
        }
    }
    Ok(report)
}

/// Adds `answer` to `tally` and says the rank (from 0) of its first correct passage.
fn tally(turn: &ConversationTurn, answer: &Answer, tally: &mut Tally) -> Option<usize> {
    let rank = answer.hits.iter().position(|hit| {
        let text = hit.passage.text.to_lowercase();
        turn.answers
            .iter()
            .any(|a| text.contains(&a.to_lowercase()))
    });
    tally.add(turn.answerable, answer.answered(), rank);
    rank
}

impl ConversationReport {
    /// The table `citebot eval` prints for a conversation file.
    pub fn table(&self, show_misses: bool) -> String {
        let mut out = super::header("turns", 30);
        for (name, tally) in [
            ("first turns", &self.first),
            ("follow-ups, in conversation", &self.followups),
            ("follow-ups, asked alone", &self.followups_alone),
            ("follow-ups, standalone wording", &self.followups_standalone),
            ("switches, in conversation", &self.switches),
            ("switches, standalone wording", &self.switches_standalone),
            ("unanswerable, in conversation", &self.unanswerable),
        ] {
            super::row(&mut out, name, tally, 30);
        }
        let _ = writeln!(
            out,
            "\nfollow-ups read with carried words: {} of {}",
            self.carried, self.followups.answerable
        );
        if show_misses {
            let _ = writeln!(out, "\nmisses:");
            for miss in &self.misses {
                let _ = writeln!(out, "  {miss}");
            }
        }
        out
    }
}
