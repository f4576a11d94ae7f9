//! Answer quality on a question file (the format of `shared/eval/`): Hit@k and
//! MRR@10 on the ranking for answerable questions, plus how often answerable
//! questions are answered and unanswerable ones get "not covered".

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
    #[error("{path}:{line}: not a question object: {message}")]
    Parse {
        path: String,
        line: usize,
        message: String,
    },
    #[error(transparent)]
    Search(#[from] crate::Error),
}

pub fn load(path: &Path) -> Result<Vec<Question>, EvalError> {
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
            if q.answerable {
                tally.answerable += 1;
                if let Some(r) = rank {
                    tally.hit1 += usize::from(r < 1);
                    tally.hit3 += usize::from(r < 3);
                    tally.hit5 += usize::from(r < 5);
                    tally.reciprocal_rank += 1.0 / (r + 1) as f64;
                }
                tally.answered += usize::from(answer.answered());
            } else {
                tally.unanswerable += 1;
                tally.abstained += usize::from(!answer.answered());
            }
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
        let mut out = String::new();
        let row = |out: &mut String, name: &str, t: &Tally| {
            let _ = writeln!(
                out,
                "{name:<12} {:>4} {:>6.3} {:>6.3} {:>6.3} {:>7.3} {:>9} {:>10}",
                t.answerable + t.unanswerable,
                t.hit_at_1(),
                t.hit_at_3(),
                t.hit_at_5(),
                t.mrr_at_10(),
                if t.answerable > 0 {
                    format!("{:.3}", t.answered_rate())
                } else {
                    "-".into()
                },
                if t.unanswerable > 0 {
                    format!("{:.3}", t.abstained_rate())
                } else {
                    "-".into()
                },
            );
        };
        let _ = writeln!(
            out,
            "{:<12} {:>4} {:>6} {:>6} {:>6} {:>7} {:>9} {:>10}",
            "kind", "n", "Hit@1", "Hit@3", "Hit@5", "MRR@10", "answered", "abstained"
        );
        row(&mut out, "all", &self.overall);
        for (kind, tally) in &self.by_kind {
            row(&mut out, kind, tally);
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
