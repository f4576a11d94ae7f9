//! Answer quality on a question file (the format of `shared/eval/`): Hit@k and
//! MRR@10 on the ranking for answerable questions, plus how often answerable
//! questions are answered and unanswerable ones get "not covered"; and the
//! same on conversations ([`conversations`]).

pub mod conversations;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

use crate::search::Engine;

#[derive(Debug, Clone, Deserialize)]
pub struct Question {
    pub id: String,
    pub question: String,
    #[serde(default)]
    pub answers: Vec<String>,
    pub answerable: bool,
    #[serde(default)]
    pub kind: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: not a question (or conversation) object: {message}")]
    Parse {
        path: String,
        line: usize,
        message: String,
    },
    #[error(transparent)]
    Search(#[from] crate::Error),
}

pub fn load(path: &Path) -> Result<Vec<Question>, EvalError> {
    load_lines(path)
}

/// The JSON objects of a file, one a non-empty line.
fn load_lines<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, EvalError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| EvalError::Read {
        path: shown.clone(),
        source,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| EvalError::Parse {
                path: shown.clone(),
                line: i + 1,
                message: e.to_string(),
            })
        })
        .collect()
}

/// Counts for one group of questions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub answerable: usize,
    pub hit1: usize,
    pub hit3: usize,
    pub hit5: usize,
    pub reciprocal_rank: f64,
    pub answered: usize,
    pub unanswerable: usize,
    pub abstained: usize,
}

impl Tally {
    fn ratio(n: usize, d: usize) -> f64 {
        if d == 0 {
            0.0
        } else {
            n as f64 / d as f64
        }
    }
    /// Counts one question: whether it could be answered, whether it was,
    /// and the rank (from 0) of its first correct passage.
    pub fn add(&mut self, answerable: bool, answered: bool, rank: Option<usize>) {
        if answerable {
            self.answerable += 1;
            if let Some(r) = rank {
                self.hit1 += usize::from(r < 1);
                self.hit3 += usize::from(r < 3);
                self.hit5 += usize::from(r < 5);
                self.reciprocal_rank += 1.0 / (r + 1) as f64;
            }
            self.answered += usize::from(answered);
        } else {
            self.unanswerable += 1;
            self.abstained += usize::from(!answered);
        }
    }

    pub fn hit_at_1(&self) -> f64 {
        Self::ratio(self.hit1, self.answerable)
    }
    pub fn hit_at_3(&self) -> f64 {
        Self::ratio(self.hit3, self.answerable)
    }
    pub fn hit_at_5(&self) -> f64 {
        Self::ratio(self.hit5, self.answerable)
    }
    pub fn mrr_at_10(&self) -> f64 {
        if self.answerable == 0 {
            0.0
        } else {
            self.reciprocal_rank / self.answerable as f64
        }
    }
    pub fn answered_rate(&self) -> f64 {
        Self::ratio(self.answered, self.answerable)
    }
    pub fn abstained_rate(&self) -> f64 {
        Self::ratio(self.abstained, self.unanswerable)
    }
}

/// One question's outcome, for the miss list.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub id: String,
    pub question: String,
    pub answerable: bool,
    pub answered: bool,
    /// Rank of the first correct passage among the first ten.
    pub rank: Option<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub overall: Tally,
    pub by_kind: BTreeMap<String, Tally>,
    pub outcomes: Vec<Outcome>,
    pub top_words: Vec<usize>,
    /// One JSON object a question: its verdict's score and each ranked
    /// passage's signals and relevance, for fitting weights and thresholds.
    pub records: Vec<serde_json::Value>,
}

/// Runs every question, looking at the first `top` passages of each (10 for MRR@10).
pub fn run(engine: &Engine, questions: &[Question], top: usize) -> Result<Report, EvalError> {
    let mut report = Report::default();
    for q in questions {
        let answer = engine.ask(
            &crate::answer::Question::new(q.question.as_str()),
            top.max(1),
        )?;
        let kind = q.kind.clone().unwrap_or_else(|| "faq".to_string());
        let relevant = |hit: &crate::answer::Hit| {
            let text = hit.passage.text.to_lowercase();
            q.answers.iter().any(|a| text.contains(&a.to_lowercase()))
        };
        let rank = answer.hits.iter().position(relevant);
        report.records.push(serde_json::json!({
            "id": q.id,
            "answerable": q.answerable,
            "answered": answer.answered(),
            "confidence": answer.confidence,
            "known_share": answer.known_share,
            "nearest_similarity": answer.nearest_similarity,
            "second_similarity": answer.second_similarity,
            "objections": answer.objections,
            "hits": answer.hits.iter().map(|h| serde_json::json!({
                "relevant": relevant(h),
                "words": crate::passages::word_count(&h.passage.text),
                "coverage": h.coverage,
                "bm25": h.evidence.bm25,
                "proximity": h.evidence.proximity,
                "similarity": h.evidence.similarity,
                "sentence_similarity": h.evidence.sentence_similarity,
            })).collect::<Vec<_>>(),
        }));
        if let Some(top) = answer.hits.first() {
            if q.answerable {
                report
                    .top_words
                    .push(crate::passages::word_count(&top.passage.text));
            }
        }
        for tally in [&mut report.overall, report.by_kind.entry(kind).or_default()] {
            tally.add(q.answerable, answer.answered(), rank);
        }
        report.outcomes.push(Outcome {
            id: q.id.clone(),
            question: q.question.clone(),
            answerable: q.answerable,
            answered: answer.answered(),
            rank: rank.map(|r| r + 1),
        });
    }
    Ok(report)
}

fn median(values: &[usize]) -> usize {
    let mut v = values.to_vec();
    v.sort_unstable();
    v.get(v.len() / 2).copied().unwrap_or(0)
}

impl Report {
    /// The table `citebot eval` prints.
    pub fn table(&self, show_misses: bool) -> String {
        let mut out = header("kind", 12);
        row(&mut out, "all", &self.overall, 12);
        for (kind, tally) in &self.by_kind {
            row(&mut out, kind, tally, 12);
        }
        let _ = writeln!(
            out,
            "\ntop passage words: median {}, max {}",
            median(&self.top_words),
            self.top_words.iter().max().copied().unwrap_or(0)
        );
        if show_misses {
            let _ = writeln!(out, "\nmisses:");
            for o in &self.outcomes {
                let wrong = if o.answerable {
                    o.rank != Some(1) || !o.answered
                } else {
                    o.answered
                };
                if wrong {
                    let rank = o.rank.map_or("-".to_string(), |r| r.to_string());
                    let _ = writeln!(
                        out,
                        "  {:<5} rank {:>2} answered {:<5} {}",
                        o.id,
                        rank,
                        o.answered,
                        o.question.chars().take(90).collect::<String>()
                    );
                }
            }
        }
        out
    }
}

/// The first line of a table of tallies, its rows named under `first` in `width` characters.
fn header(first: &str, width: usize) -> String {
    format!(
        "{first:<width$} {:>4} {:>6} {:>6} {:>6} {:>7} {:>9} {:>10}\n",
        "n", "Hit@1", "Hit@3", "Hit@5", "MRR@10", "answered", "abstained"
    )
}

/// One row of that table.
fn row(out: &mut String, name: &str, t: &Tally, width: usize) {
    let rate = |count: usize, rate: f64| {
        if count > 0 {
            format!("{rate:.3}")
        } else {
            "-".into()
        }
    };
    let _ = writeln!(
        out,
        "{name:<width$} {:>4} {:>6.3} {:>6.3} {:>6.3} {:>7.3} {:>9} {:>10}",
        t.answerable + t.unanswerable,
        t.hit_at_1(),
        t.hit_at_3(),
        t.hit_at_5(),
        t.mrr_at_10(),
        rate(t.answerable, t.answered_rate()),
        rate(t.unanswerable, t.abstained_rate()),
    );
}
