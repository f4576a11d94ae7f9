//! From a question to ranked, cited passages. The question is analysed like
//! the corpus (never parsed as query syntax), each content word becomes a
//! concept with its alternatives (typo corrections, synonyms, acronyms), the
//! index fetches candidates by BM25, and a re-ranker scores how much of the
//! question each candidate holds. The same signals decide "not covered".

use std::collections::HashMap;
use std::ops::Range;

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::IndexRecordOption;
use tantivy::{Searcher, TantivyDocument, Term};
use unicode_segmentation::UnicodeSegmentation;

use crate::analysis::{self, Token};
use crate::config::SearchConfig;
use crate::index::Index;
use crate::passages::Passage;
use crate::Error;

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
    /// Share of the question's content words the corpus knows (rarity-weighted).
    pub known_share: f32,
}

impl Answer {
    pub fn answered(&self) -> bool {
        self.verdict == Verdict::Answered
    }
}

/// A content word of the question and the index terms that stand for it.
#[derive(Debug, Clone)]
struct Concept {
    /// The word as typed (folded), for spelling corrections.
    word: String,
    /// Written with a capital inside the question: likely a name.
    capitalized: bool,
    alternatives: Vec<(String, f32)>,
    /// How much of this concept the corpus knows: 1 as typed, less through a correction.
    known: f32,
    idf: f32,
}

impl Concept {
    fn add(&mut self, stem: &str, weight: f32) {
        match self.alternatives.iter_mut().find(|(s, _)| s == stem) {
            Some(existing) => existing.1 = existing.1.max(weight),
            None => self.alternatives.push((stem.to_string(), weight)),
        }
    }

    fn weight_of(&self, stem: &str) -> Option<f32> {
        self.alternatives
            .iter()
            .find(|(s, _)| s == stem)
            .map(|(_, w)| *w)
    }
}

const GREETINGS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "hiya",
    "yo",
    "greetings",
    "thanks",
    "thank",
    "help",
    "bot",
    "citebot",
    "anyone",
    "anybody",
    "there",
    "morning",
    "evening",
    "afternoon",
    "ok",
    "okay",
    "test",
];

pub struct Engine {
    index: Index,
    config: SearchConfig,
}

impl Engine {
    pub fn new(index: Index, config: SearchConfig) -> Self {
        Engine { index, config }
    }

    pub fn index(&self) -> &Index {
        &self.index
    }

    /// Answers `question` with at most `top` ranked passages.
    pub fn ask(&self, question: &str, top: usize) -> Result<Answer, Error> {
        let mut notice = None;
        let limit = self.config.max_question_chars;
        let read: &str = match question.char_indices().nth(limit) {
            Some((cut, _)) => {
                notice = Some(format!(
                    "Only the first {limit} characters of the question were read."
                ));
                &question[..cut]
            }
            None => question,
        };
        let searcher = self.index.reader.searcher();
        let tokens = analysis::tokens(read);
        let mut answer = Answer {
            question: question.to_string(),
            verdict: Verdict::NotCovered,
            hits: Vec::new(),
            hints: Vec::new(),
            notice,
            known_share: 0.0,
        };
        if is_greeting(&tokens) {
            answer.verdict = Verdict::Greeting;
            return Ok(answer);
        }
        let concepts = self.concepts(&searcher, read, &tokens)?;
        let total_idf: f32 = concepts.iter().map(|c| c.idf).sum();
        if total_idf <= 0.0 {
            return Ok(answer);
        }
        answer.known_share = concepts.iter().map(|c| c.idf * c.known).sum::<f32>() / total_idf;
        // A name the corpus has never seen ("Zolgensma", "Hemgenix") means the
        // question is about something else, however well the rest matches.
        let unknown_name = concepts.iter().any(|c| c.capitalized && c.known == 0.0);

        let subject = definition_subject(read, &tokens, &concepts);
        answer.hits = self.rank(&searcher, &concepts, subject.as_deref(), top.max(1))?;
        answer.hints = closest_sections(&answer.hits, 3);
        let top_coverage = answer.hits.first().map_or(0.0, |h| h.coverage);
        if !unknown_name
            && answer.known_share >= self.config.min_known_share
            && top_coverage >= self.config.min_coverage
        {
            answer.verdict = Verdict::Answered;
        }
        Ok(answer)
    }

    fn doc_freq(&self, searcher: &Searcher, stem: &str) -> Result<u64, Error> {
        let term = Term::from_field_text(self.index.fields.body, stem);
        Ok(searcher.doc_freq(&term)?)
    }

    fn concepts(
        &self,
        searcher: &Searcher,
        read: &str,
        tokens: &[Token],
    ) -> Result<Vec<Concept>, Error> {
        // In a Title Cased Question capitals say nothing about names.
        let words = tokens.iter().filter(|t| !t.derived).count();
        let capitals = tokens
            .iter()
            .filter(|t| !t.derived && read[t.start..t.end].starts_with(char::is_uppercase))
            .count();
        let title_case = capitals * 2 > words;
        let n = searcher.num_docs().max(1) as f32;
        let idf = |df: u64| (1.0 + (n - df as f32 + 0.5) / (df as f32 + 0.5)).ln();

        let mut concepts: Vec<Concept> = Vec::new();
        // Stems of the content words in question order, and which concept each is.
        let mut run: Vec<(String, usize)> = Vec::new();
        let mut by_position: HashMap<u32, usize> = HashMap::new();
        for token in tokens {
            if token.derived {
                // A joined compound or letter prefix stands for the word it came from.
                let owner = by_position
                    .get(&token.position)
                    .or_else(|| by_position.get(&token.position.wrapping_sub(1)));
                if let Some(&i) = owner {
                    concepts[i].add(&token.stem, 1.0);
                }
                continue;
            }
            // Single letters and digits ("1=1", "hemophilia B") say too little to search on.
            if analysis::is_stop_word(&token.word) || token.word.chars().count() < 2 {
                continue;
            }
            if let Some(i) = concepts
                .iter()
                .position(|c| c.alternatives[0].0 == token.stem)
            {
                by_position.insert(token.position, i);
                continue;
            }
            by_position.insert(token.position, concepts.len());
            run.push((token.stem.clone(), concepts.len()));
            concepts.push(Concept {
                capitalized: token.position > 0
                    && !title_case
                    && read[token.start..token.end].starts_with(char::is_uppercase),
                word: token.word.clone(),
                alternatives: vec![(token.stem.clone(), 1.0)],
                known: 1.0,
                idf: 0.0,
            });
            // Bound the work a very long question can cause.
            if concepts.len() >= 64 {
                break;
            }
        }

        // Rarity from the index; words the corpus never uses get a spelling it does use.
        for concept in &mut concepts {
            let mut df = 0;
            for (stem, _) in &concept.alternatives {
                df = df.max(self.doc_freq(searcher, stem)?);
            }
            concept.idf = idf(df);
            if df > 0 {
                continue;
            }
            concept.known = 0.0;
            let corrections = self.corrections(searcher, &concept.word)?;
            if corrections.iter().any(|w| analysis::is_stop_word(w)) {
                // "wich", "teh": a misspelt function word carries no content.
                concept.idf = 0.0;
                concept.alternatives.clear();
                continue;
            }
            for word in corrections {
                let stem = analysis::tokens(&word)
                    .into_iter()
                    .next()
                    .map_or(word, |t| t.stem);
                concept.add(&stem, self.config.fuzzy_weight);
                concept.known = self.config.fuzzy_weight;
            }
        }

        // Synonyms and acronyms, both ways, attached to the words they replace.
        let stems: Vec<String> = run.iter().map(|(s, _)| s.clone()).collect();
        for (at, others) in self.index.lexicon.expansions(&stems) {
            let owners: Vec<usize> = run[at].iter().map(|(_, c)| *c).collect();
            for other in others {
                for stem in other {
                    for &c in &owners {
                        concepts[c].add(stem, self.config.expansion_weight);
                    }
                }
                let known = other
                    .iter()
                    .all(|s| self.doc_freq(searcher, s).unwrap_or(0) > 0);
                if known {
                    for &c in &owners {
                        let concept = &mut concepts[c];
                        concept.known = concept.known.max(self.config.expansion_weight);
                    }
                }
            }
        }
        Ok(concepts)
    }

    /// Corpus words within a small edit distance of `word`, the closest ones.
    fn corrections(&self, searcher: &Searcher, word: &str) -> Result<Vec<String>, Error> {
        let len = word.chars().count();
        // Two edits only in long words: in short ones they reach unrelated words.
        let max_distance = match len {
            0..=3 => return Ok(Vec::new()),
            4..=9 => 1,
            _ => 2,
        };
        let target: Vec<char> = word.chars().collect();
        let mut best: Vec<String> = Vec::new();
        let mut best_distance = max_distance + 1;
        for segment in searcher.segment_readers() {
            let inverted = segment.inverted_index(self.index.fields.words)?;
            let mut stream = inverted
                .terms()
                .stream()
                .map_err(tantivy::TantivyError::from)?;
            while stream.advance() {
                let Ok(candidate) = std::str::from_utf8(stream.key()) else {
                    continue;
                };
                let chars: Vec<char> = candidate.chars().collect();
                if chars.len().abs_diff(len) > max_distance || chars.len() < 3 {
                    continue;
                }
                let d = edit_distance(&target, &chars, max_distance);
                if d < best_distance {
                    best_distance = d;
                    best.clear();
                }
                if d == best_distance && d <= max_distance && !best.iter().any(|b| b == candidate) {
                    best.push(candidate.to_string());
                }
            }
        }
        best.truncate(3);
        Ok(best)
    }

    fn rank(
        &self,
        searcher: &Searcher,
        concepts: &[Concept],
        subject: Option<&[String]>,
        top: usize,
    ) -> Result<Vec<Hit>, Error> {
        let fields = self.index.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for concept in concepts {
            for (stem, weight) in &concept.alternatives {
                for (field, boost) in [(fields.body, 1.0), (fields.heading, 0.5)] {
                    let term = Term::from_field_text(field, stem);
                    let query = TermQuery::new(term, IndexRecordOption::WithFreqs);
                    clauses.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(query), weight * boost)),
                    ));
                }
            }
        }
        let query = BooleanQuery::new(clauses);
        let limit = self.config.candidates.max(top);
        let found = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
        let best_bm25 = found.first().map_or(1.0, |(s, _)| s.max(f32::EPSILON));
        let total_idf: f32 = concepts
            .iter()
            .map(|c| c.idf)
            .sum::<f32>()
            .max(f32::EPSILON);

        let mut hits = Vec::with_capacity(found.len());
        for (bm25, address) in found {
            let doc: TantivyDocument = searcher.doc(address)?;
            let passage = self.index.passage(&doc);
            let features = Features::of(&passage, concepts, total_idf);
            let c = &self.config;
            let mut score = c.weight_bm25 * bm25 / best_bm25
                + c.weight_coverage * features.coverage
                + c.weight_proximity * features.proximity;
            if subject.is_some_and(|subject| defines(&passage.text, subject)) {
                score += c.weight_definition;
            }
            hits.push(Hit {
                rank: 0,
                score,
                best_sentence: features.best_sentence,
                highlights: features.highlights,
                matched_terms: features.matched_terms,
                coverage: features.coverage,
                passage,
            });
        }
        hits.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.passage.ordinal.cmp(&b.passage.ordinal))
        });
        hits.truncate(top);
        for (i, hit) in hits.iter_mut().enumerate() {
            hit.rank = i + 1;
        }
        Ok(hits)
    }
}

/// What the re-ranker reads off one passage.
struct Features {
    coverage: f32,
    proximity: f32,
    best_sentence: Range<usize>,
    highlights: Vec<Range<usize>>,
    matched_terms: Vec<String>,
}

impl Features {
    fn of(passage: &Passage, concepts: &[Concept], total_idf: f32) -> Features {
        let tokens = analysis::tokens(&passage.text);
        // For each token, the concepts it matches and with what weight.
        let mut best_weight = vec![0.0f32; concepts.len()];
        let mut positions: Vec<Vec<u32>> = vec![Vec::new(); concepts.len()];
        let mut highlights: Vec<Range<usize>> = Vec::new();
        let mut matched_terms: Vec<String> = Vec::new();
        let mut token_matches: Vec<(usize, usize, f32)> = Vec::new(); // (token, concept, weight)
        for (t, token) in tokens.iter().enumerate() {
            let mut any = false;
            for (c, concept) in concepts.iter().enumerate() {
                if let Some(w) = concept.weight_of(&token.stem) {
                    best_weight[c] = best_weight[c].max(w);
                    positions[c].push(token.position);
                    token_matches.push((t, c, w));
                    any = true;
                }
            }
            if any {
                highlights.push(token.start..token.end);
                if !token.derived && !matched_terms.contains(&token.word) {
                    matched_terms.push(token.word.clone());
                }
            }
        }
        let coverage = weighted(concepts, &best_weight) / total_idf;

        // Neighbouring question words that stand close together in the passage.
        let matched: Vec<usize> = (0..concepts.len())
            .filter(|&c| !positions[c].is_empty())
            .collect();
        let pairs = concepts.len().saturating_sub(1).max(1) as f32;
        let close = matched
            .windows(2)
            .filter(|w| {
                positions[w[0]]
                    .iter()
                    .any(|a| positions[w[1]].iter().any(|b| a.abs_diff(*b) <= 3))
            })
            .count() as f32;
        let proximity = close / pairs;

        let best_sentence = best_sentence(&passage.text, &tokens, &token_matches, concepts);
        Features {
            coverage,
            proximity,
            best_sentence,
            highlights: merge(highlights),
            matched_terms,
        }
    }
}

fn weighted(concepts: &[Concept], weights: &[f32]) -> f32 {
    concepts.iter().zip(weights).map(|(c, w)| c.idf * w).sum()
}

/// The sentence (or list line) holding the most question content; the first on a tie.
fn best_sentence(
    text: &str,
    tokens: &[Token],
    matches: &[(usize, usize, f32)],
    concepts: &[Concept],
) -> Range<usize> {
    let mut best = 0..text.len();
    let mut best_score = -1.0f32;
    for (start, sentence) in sentences(text) {
        let end = start + sentence.len();
        let mut per_concept = vec![0.0f32; concepts.len()];
        for &(t, c, w) in matches {
            if tokens[t].start >= start && tokens[t].end <= end {
                per_concept[c] = per_concept[c].max(w);
            }
        }
        let score = weighted(concepts, &per_concept);
        if score > best_score {
            best_score = score;
            let trimmed = sentence.trim_end();
            let lead = trimmed.len() - trimmed.trim_start().len();
            best = start + lead..start + trimmed.len();
        }
    }
    best
}

/// Sentences with their byte offsets; list lines count as sentences too.
pub fn sentences(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        for (offset, sentence) in line.split_sentence_bound_indices() {
            if sentence.trim().is_empty() {
                continue;
            }
            out.push((line_start + offset, sentence));
        }
        line_start += line.len();
    }
    out
}

fn merge(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<usize>> = Vec::new();
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

fn closest_sections(hits: &[Hit], n: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for hit in hits {
        if !out.contains(&hit.passage.citation.section) {
            out.push(hit.passage.citation.section.clone());
        }
        if out.len() == n {
            break;
        }
    }
    out
}

/// For "what is X" / "what are X" / "define X": the stems of X.
fn definition_subject(read: &str, tokens: &[Token], concepts: &[Concept]) -> Option<Vec<String>> {
    let words: Vec<&str> = tokens
        .iter()
        .filter(|t| !t.derived)
        .map(|t| t.word.as_str())
        .collect();
    let lowered = read.trim_start().to_lowercase().replace('’', "'");
    let asks = match words.as_slice() {
        ["what", "is" | "are", ..] => true,
        ["define" | "definition" | "meaning", ..] => true,
        ["what", ..] => lowered.starts_with("what's") || lowered.starts_with("whats"),
        _ => false,
    };
    let subject: Vec<String> = concepts
        .iter()
        .filter_map(|c| c.alternatives.first().map(|(stem, _)| stem.clone()))
        .collect();
    (asks && !subject.is_empty() && subject.len() <= 4).then_some(subject)
}

/// Stems of verbs that open a definition: "X is", "X consists of", "X refers to".
const DEFINING_VERBS: &[&str] = &[
    "is", "are", "consist", "involv", "refer", "mean", "call", "describ",
];

/// Whether a sentence of `text` starts with `subject` (after an article) followed by a defining verb.
fn defines(text: &str, subject: &[String]) -> bool {
    sentences(text).iter().any(|(_, sentence)| {
        let stems: Vec<String> = analysis::tokens(sentence)
            .into_iter()
            .filter(|t| !t.derived)
            .map(|t| t.stem)
            .skip_while(|s| matches!(s.as_str(), "the" | "a" | "an" | "•"))
            .take(subject.len() + 1)
            .collect();
        stems.len() == subject.len() + 1
            && stems[..subject.len()] == *subject
            && DEFINING_VERBS.contains(&stems[subject.len()].as_str())
    })
}

fn is_greeting(tokens: &[Token]) -> bool {
    let words: Vec<&str> = tokens
        .iter()
        .filter(|t| !t.derived)
        .map(|t| t.word.as_str())
        .collect();
    words.iter().any(|w| GREETINGS.contains(w))
        && words
            .iter()
            .all(|w| GREETINGS.contains(w) || analysis::is_stop_word(w))
}

/// Optimal string alignment distance (adjacent swaps cost one), stopping early past `limit`.
fn edit_distance(a: &[char], b: &[char], limit: usize) -> usize {
    let (n, m) = (a.len(), b.len());
    let mut prev2 = vec![0usize; m + 1];
    let mut prev: Vec<usize> = (0..=m).collect();
    let mut cur = vec![0usize; m + 1];
    for i in 1..=n {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > limit {
            return limit + 1;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[m]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn edit_distance_counts_swaps_as_one() {
        assert_eq!(
            edit_distance(&chars("lentivirsu"), &chars("lentivirus"), 2),
            1
        );
        assert_eq!(edit_distance(&chars("treatmnt"), &chars("treatment"), 2), 1);
        assert_eq!(edit_distance(&chars("abc"), &chars("xyz"), 1), 2);
    }

    #[test]
    fn sentences_split_list_lines() {
        let got: Vec<_> = sentences("Lead in: one. Two.\n• item a\n• item b")
            .into_iter()
            .map(|(_, s)| s.trim())
            .collect();
        assert_eq!(got, ["Lead in: one.", "Two.", "• item a", "• item b"]);
    }

    #[test]
    fn greetings_are_recognised() {
        assert!(is_greeting(&analysis::tokens("hi bot")));
        assert!(is_greeting(&analysis::tokens("hello? anyone there")));
        assert!(!is_greeting(&analysis::tokens("hi, what is gene therapy")));
    }
}
