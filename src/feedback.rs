//! What the bot's users made of its answers: every answer, "not covered"
//! reply and 👍/👎 vote appended to a local JSON-lines log (user ids hashed,
//! never raw; the file rotated by size), and `citebot gaps`, which reads it
//! back as the questions the corpus is missing or answers badly.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::answer::Answer;

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Seconds since the Unix epoch.
    pub time: u64,
    /// `answer` or `vote`.
    pub kind: String,
    /// Ties a vote to the answer it is about.
    pub answer_id: u64,
    pub guild: Option<u64>,
    pub channel: u64,
    /// The asker, hashed.
    pub user: String,
    pub question: String,
    pub understood_as: Option<String>,
    /// `answered`, `not_covered` or `greeting`; for a vote, the answer's.
    pub verdict: String,
    /// The top passage's citation, when answered.
    pub citation: Option<String>,
    /// The section closest to the question: the top passage's, or the first
    /// hint of a "not covered" reply.
    pub section: Option<String>,
    /// `up` or `down`, for a vote.
    pub vote: Option<String>,
}

impl Record {
    /// The record of `answer`, given as answer `answer_id` to `user`.
    pub fn of_answer(
        answer: &Answer,
        answer_id: u64,
        guild: Option<u64>,
        channel: u64,
        user: u64,
    ) -> Record {
        let top = answer.hits.first().filter(|_| answer.answered());
        Record {
            time: now(),
            kind: "answer".into(),
            answer_id,
            guild,
            channel,
            user: hash_user(user),
            question: answer.question.clone(),
            understood_as: answer.understood_as.clone(),
            verdict: answer.verdict.as_str().into(),
            citation: top.map(|hit| crate::render::citation_line(&hit.passage.citation)),
            section: top
                .map(|hit| hit.passage.citation.section.clone())
                .or_else(|| answer.hints.first().cloned()),
            vote: None,
        }
    }

    /// The record of a vote on the answer `answered`.
    pub fn vote(answered: &Record, user: u64, up: bool) -> Record {
        Record {
            time: now(),
            kind: "vote".into(),
            user: hash_user(user),
            vote: Some(if up { "up" } else { "down" }.into()),
            ..answered.clone()
        }
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A user id as the log keeps it: enough to tell users apart, not to name them.
pub fn hash_user(id: u64) -> String {
    let digest = Sha256::digest(format!("citebot feedback {id}").as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The log file, appended to from any thread.
pub struct Log {
    path: PathBuf,
    max_bytes: u64,
    lock: Mutex<()>,
}

impl Log {
    pub fn new(path: PathBuf, max_bytes: u64) -> Log {
        Log {
            path,
            max_bytes,
            lock: Mutex::new(()),
        }
    }

    /// The file the log is rotated into when full (one generation kept).
    pub fn rotated(path: &Path) -> PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push(".1");
        PathBuf::from(name)
    }

    /// Appends `record`; past the size limit the file first becomes
    /// `<file>.1` (replacing the one before) and a new file is started.
    pub fn append(&self, record: &Record) -> std::io::Result<()> {
        let mut line = serde_json::to_string(record).map_err(std::io::Error::other)?;
        line.push('\n');
        let _held = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let size = fs::metadata(&self.path).map_or(0, |m| m.len());
        if size > 0 && size + line.len() as u64 > self.max_bytes {
            fs::rename(&self.path, Self::rotated(&self.path))?;
        }
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        file.write_all(line.as_bytes())
    }
}

/// A section and the questions near it that were declined or voted down.
#[derive(Debug, Clone, PartialEq)]
pub struct Gap {
    pub section: String,
    /// Each question with how often it came, most frequent first.
    pub questions: Vec<(String, usize)>,
    pub total: usize,
}

/// The gaps in the logs at `paths` (missing files are skipped; lines that
/// are not records are counted in the second value), sections with the
/// most declined or voted-down questions first.
pub fn gaps(paths: &[PathBuf]) -> std::io::Result<(Vec<Gap>, usize)> {
    let mut records = Vec::new();
    let mut unreadable = 0;
    for path in paths {
        let text = match fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str::<Record>(line) {
                Ok(record) => records.push(record),
                Err(_) => unreadable += 1,
            }
        }
    }
    // An answer voted down (its last vote) is a gap, as a declined one is.
    let mut last_vote: BTreeMap<u64, bool> = BTreeMap::new();
    for r in records.iter().filter(|r| r.kind == "vote") {
        last_vote.insert(r.answer_id, r.vote.as_deref() == Some("down"));
    }
    let mut by_section: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.kind == "answer") {
        let declined = r.verdict == "not_covered";
        let voted_down = last_vote.get(&r.answer_id).copied().unwrap_or(false);
        if declined || voted_down {
            let section = r.section.clone().unwrap_or_else(|| "(no section)".into());
            let question = r
                .understood_as
                .clone()
                .unwrap_or_else(|| r.question.clone());
            *by_section
                .entry(section)
                .or_default()
                .entry(question)
                .or_default() += 1;
        }
    }
    let mut gaps: Vec<Gap> = by_section
        .into_iter()
        .map(|(section, questions)| {
            let mut questions: Vec<(String, usize)> = questions.into_iter().collect();
            questions.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            Gap {
                total: questions.iter().map(|(_, n)| n).sum(),
                section,
                questions,
            }
        })
        .collect();
    gaps.sort_by(|a, b| b.total.cmp(&a.total).then(a.section.cmp(&b.section)));
    Ok((gaps, unreadable))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer_record(id: u64, question: &str, verdict: &str, section: &str) -> Record {
        Record {
            time: 1,
            kind: "answer".into(),
            answer_id: id,
            guild: Some(1),
            channel: 2,
            user: hash_user(7),
            question: question.into(),
            understood_as: None,
            verdict: verdict.into(),
            citation: None,
            section: Some(section.into()),
            vote: None,
        }
    }

    #[test]
    fn declined_and_voted_down_questions_are_gaps_grouped_by_section() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::new(dir.path().join("feedback.jsonl"), 1_000_000);
        let price = answer_record(
            1,
            "price of kymriah",
            "not_covered",
            "Some obstacles remain",
        );
        log.append(&price).unwrap();
        log.append(&answer_record(
            2,
            "price of kymriah",
            "not_covered",
            "Some obstacles remain",
        ))
        .unwrap();
        let eyes = answer_record(3, "what is luxturna", "answered", "In ocular diseases");
        log.append(&eyes).unwrap();
        log.append(&Record::vote(&eyes, 7, false)).unwrap();
        let fine = answer_record(4, "what is glybera", "answered", "Gene therapy drugs");
        log.append(&fine).unwrap();
        log.append(&Record::vote(&fine, 7, true)).unwrap();
        let (gaps, unreadable) = gaps(&[dir.path().join("feedback.jsonl")]).unwrap();
        assert_eq!(unreadable, 0);
        assert_eq!(gaps.len(), 2);
        assert_eq!(gaps[0].section, "Some obstacles remain");
        assert_eq!(gaps[0].questions, vec![("price of kymriah".to_string(), 2)]);
        assert_eq!(gaps[1].questions[0].0, "what is luxturna");
    }

    #[test]
    fn the_log_rotates_by_size_and_never_holds_raw_user_ids() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feedback.jsonl");
        let log = Log::new(path.clone(), 600);
        for id in 0..10 {
            log.append(&answer_record(id, "q", "answered", "S"))
                .unwrap();
        }
        let current = fs::read_to_string(&path).unwrap();
        assert!(current.len() <= 600, "{}", current.len());
        assert!(Log::rotated(&path).exists());
        assert!(!current.contains("\"user\":\"7\""));
        assert_eq!(hash_user(7).len(), 16);
        assert_ne!(hash_user(7), hash_user(8));
    }
}
