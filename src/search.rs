//! From a question to ranked, cited passages. The question is analysed like
//! the corpus (never parsed as query syntax), each content word becomes a
//! concept with its alternatives (typo corrections, synonyms, acronyms), the
//! index fetches candidates by BM25, and a re-ranker scores how much of the
//! question each candidate holds, and whether it holds the kind of answer
//! asked for (a cause for "why"). The same signals decide "not covered".

mod intent;

use std::ops::Range;

use tantivy::collector::TopDocs;
use tantivy::query::{
    Bm25StatisticsProvider, BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Searcher, Term};
use tantivy_fst::{IntoStreamer, Streamer};

use crate::analysis::{self, Analysed, FastMap, Span, Token};
use crate::config::SearchConfig;
use crate::corpus::BlockKind;
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
}

/// How much "III" counts for a question's "3" (and "3" for "III"): the same
/// number, though "IV" may also be a drip and "XI" a letter.
const NUMERAL_WEIGHT: f32 = 1.0;

const GREETINGS: &[&str] = &[
    "hi",
    "hello",
    "hey",
    "hiya",
    "yo",
    "greetings",
    "thanks",
    "thank",
    "thx",
    "cheers",
    "bye",
    "goodbye",
    "great",
    "cool",
    "nice",
    "perfect",
    "helped",
    "helpful",
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
        let stats = Stats::new(&searcher);
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
        // "What does AAV stand for": the frame names no subject, and only a
        // passage spelling the acronym out answers.
        let expansion = asks_expansion(&tokens);
        let tokens = if expansion {
            without_expansion_frame(tokens)
        } else {
            tokens
        };
        let concepts = self.concepts(&stats, read, &tokens)?;
        let total_idf: f32 = concepts.iter().map(|c| c.idf).sum();
        if total_idf <= 0.0 {
            return Ok(answer);
        }
        answer.known_share = concepts.iter().map(|c| c.idf * c.known).sum::<f32>() / total_idf;
        // A name the corpus has never seen ("Zolgensma", "Hemgenix") means the
        // question is about something else, however well the rest matches.
        let unknown_name = concepts.iter().any(|c| c.capitalized && c.known == 0.0);

        let subject = definition_subject(read, &tokens, &concepts, expansion);
        let intent = intent::of_question(&tokens);
        let ranked = self.rank(&stats, &concepts, subject.as_deref(), intent, top.max(1))?;
        answer.hits = ranked.hits;
        // A name the question is about ("how much does Kymriah cost") that the
        // best passage never mentions: the passage answers another question.
        let name_missing = concepts
            .iter()
            .zip(&ranked.top_weights)
            .any(|(c, &w)| c.capitalized && c.known > 0.0 && w == 0.0);
        let undefined = match &subject {
            Some(_) if expansion => !ranked.defined,
            // "What is base editing": a term the corpus never uses, though it uses its words.
            Some(_) if is_compound_subject(&tokens) && !ranked.any_close => true,
            Some(subject) if !ranked.defined => self.is_generic(&stats, subject)?,
            _ => false,
        };
        answer.hints = closest_sections(&answer.hits, 3);
        let top_coverage = answer.hits.first().map_or(0.0, |h| h.coverage);
        let syntax = is_broken_query_syntax(read);
        if syntax && answer.notice.is_none() {
            answer.notice = Some(SYNTAX_NOTICE.to_string());
        }
        if !unknown_name
            && !syntax
            && !name_missing
            && !undefined
            && answer.known_share >= self.config.min_known_share
            && top_coverage >= self.config.min_coverage
        {
            answer.verdict = Verdict::Answered;
        }
        Ok(answer)
    }

    /// Whether a "what is X" subject is a word so common in the corpus that only
    /// a passage defining it answers the question ("what is a gene" in an
    /// article where nearly every passage says "gene").
    fn is_generic(&self, stats: &Stats, subject: &[String]) -> Result<bool, Error> {
        if subject.len() > 2 {
            // "What are some diseases gene therapy might treat": facts, not a definition.
            return Ok(false);
        }
        let n = stats.searcher.num_docs().max(1) as f32;
        for stem in subject {
            if (self.doc_freq(stats, stem)? as f32) < self.config.generic_share * n {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn doc_freq(&self, stats: &Stats, stem: &str) -> Result<u64, Error> {
        let term = Term::from_field_text(self.index.fields.body, stem);
        Ok(stats.doc_freq(&term)?)
    }

    fn concepts(&self, stats: &Stats, read: &str, tokens: &[Token]) -> Result<Vec<Concept>, Error> {
        // In a Title Cased Question capitals say nothing about names. The first
        // word is capitalised in any question, so it is not counted.
        let words = tokens
            .iter()
            .filter(|t| !t.derived && t.position > 0)
            .count();
        let capitals = tokens
            .iter()
            .filter(|t| {
                !t.derived && t.position > 0 && read[t.start..t.end].starts_with(char::is_uppercase)
            })
            .count();
        let title_case = capitals * 2 > words;
        let n = stats.searcher.num_docs().max(1) as f32;
        let idf = |df: u64| (1.0 + (n - df as f32 + 0.5) / (df as f32 + 0.5)).ln();

        let mut concepts: Vec<Concept> = Vec::new();
        // Stems of the content words in question order, and which concept each is.
        let mut run: Vec<(String, usize)> = Vec::new();
        let mut by_position: FastMap<u32, usize> = FastMap::default();
        // The word before, if a content word: a number labels it ("phase 3", "factor IX").
        let mut label: Option<&Token> = None;
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
            // "III" for "phase 3", but not "4" for "IV injection" nor for "2 3 4".
            let numeral = label
                .take()
                .filter(|l| l.position + 1 == token.position)
                .filter(|l| analysis::numeral_equivalent(&l.word).is_none())
                .and_then(|_| analysis::numeral_equivalent(&token.word));
            let stop = analysis::is_stop_word(&token.word);
            if !stop {
                label = Some(token);
            }
            // Single letters and digits ("1=1", "hemophilia B") say too little to
            // search on, unless written another way they are a word ("phase 3": "III").
            if stop || (token.word.chars().count() < 2 && numeral.is_none()) {
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
            // A numeral's other spelling is never its stem ("3" is not "iii").
            let mut alternatives = vec![(token.stem.clone(), 1.0)];
            alternatives.extend(numeral.map(|other| (other, NUMERAL_WEIGHT)));
            concepts.push(Concept {
                capitalized: token.position > 0
                    && !title_case
                    && read[token.start..token.end].starts_with(char::is_uppercase),
                word: token.word.clone(),
                alternatives,
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
                df = df.max(self.doc_freq(stats, stem)?);
            }
            concept.idf = idf(df);
            if df > 0 {
                continue;
            }
            concept.known = 0.0;
            let corrections = self.corrections(&concept.word)?;
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
                    .all(|s| self.doc_freq(stats, s).unwrap_or(0) > 0);
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

    /// Corpus words within a small edit distance of `word`, the closest ones
    /// (the first three in dictionary order).
    fn corrections(&self, word: &str) -> Result<Vec<String>, Error> {
        // Two edits only in long words: in short ones they reach unrelated words.
        let max_distance = match word.chars().count() {
            0..=3 => return Ok(Vec::new()),
            4..=9 => 1,
            _ => 2,
        };
        let Some(first) = word.chars().next() else {
            return Ok(Vec::new());
        };
        let same_first = prefix_range(&word[..first.len_utf8()]);
        let mut found = std::collections::BTreeSet::new();
        // One edit. A Levenshtein automaton walks the dictionary only where a
        // word could be in reach, but a changed first letter puts every branch
        // of the dictionary in reach: so the automaton walks only the words
        // that keep the first letter, and the words whose first letter is the
        // edit are looked up directly (a few dozen lookups instead of a walk).
        self.walk(word, 1, &same_first, &mut found)?;
        let rest = &word[first.len_utf8()..];
        // One buffer for the ~75 candidates; only those in the dictionary are kept.
        let mut candidate = String::with_capacity(word.len() + 4);
        let mut check = |parts: &[&str]| {
            candidate.clear();
            parts.iter().for_each(|part| candidate.push_str(part));
            if self.index.vocabulary.contains_key(&candidate) {
                found.insert(candidate.clone());
            }
        };
        check(&[rest]);
        let mut first_buf = [0u8; 4];
        let first_str = first.encode_utf8(&mut first_buf);
        if let Some(second) = rest.chars().next() {
            let mut second_buf = [0u8; 4];
            check(&[
                second.encode_utf8(&mut second_buf),
                first_str,
                &rest[second.len_utf8()..],
            ]);
        }
        for c in ('a'..='z').chain('0'..='9').filter(|&c| c != first) {
            let mut c_buf = [0u8; 4];
            let c = c.encode_utf8(&mut c_buf);
            check(&[c, rest]);
            check(&[c, word]);
        }
        // A word of another script: its first letter may have been typed as
        // another letter of that script, which only a walk of the whole
        // dictionary finds. (The reverse, a Latin word typed with a first
        // letter of another script, is no typo.)
        if !first.is_ascii() {
            self.walk(word, 1, &(String::new(), None), &mut found)?;
        }
        // Two edits away, keep the first two letters: typos there are rare in a
        // long word, and two edits put so much of the dictionary in reach that
        // walking even one letter's share costs most of an answer on a large corpus.
        if found.iter().all(|w: &String| w.chars().count() < 3) && max_distance > 1 {
            let head: String = word.chars().take(2).collect();
            self.walk(word, 2, &prefix_range(&head), &mut found)?;
        }
        Ok(found
            .into_iter()
            .filter(|w| w.chars().count() >= 3)
            .take(3)
            .collect())
    }

    /// Adds the dictionary words within `distance` of `word` in the key range
    /// [start, end) (no end: to the last word).
    fn walk(
        &self,
        word: &str,
        distance: u8,
        (start, end): &(String, Option<String>),
        found: &mut std::collections::BTreeSet<String>,
    ) -> Result<(), Error> {
        let term = Term::from_field_text(self.index.fields.body, word);
        let automaton = FuzzyTermQuery::new(term, distance, true).automaton()?;
        let mut range = self.index.vocabulary.search(automaton).ge(start);
        if let Some(end) = end {
            range = range.lt(end);
        }
        let mut stream = range.into_stream();
        while let Some((key, _)) = stream.next() {
            if let Ok(candidate) = std::str::from_utf8(key) {
                found.insert(candidate.to_string());
            }
        }
        Ok(())
    }

    fn rank(
        &self,
        stats: &Stats,
        concepts: &[Concept],
        subject: Option<&[String]>,
        intent: Option<intent::Intent>,
        top: usize,
    ) -> Result<Ranked, Error> {
        let fields = self.index.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for concept in concepts {
            for (stem, weight) in &concept.alternatives {
                for (field, boost) in [(fields.body, 1.0), (fields.heading, 0.5)] {
                    let term = Term::from_field_text(field, stem);
                    // A term no passage holds scores nothing, but its clause would
                    // still cost a BM25 weight and a second dictionary lookup.
                    if stats.doc_freq(&term)? == 0 {
                        continue;
                    }
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
        let searcher = stats.searcher;
        let found = searcher.search_with_statistics_provider(
            &query,
            &TopDocs::with_limit(limit).order_by_score(),
            stats,
        )?;
        let best_bm25 = found.first().map_or(1.0, |(s, _)| s.max(f32::EPSILON));
        let matcher = Matcher::new(concepts);
        let c = &self.config;
        let mut scored = Vec::with_capacity(found.len());
        let mut defined = false;
        for (bm25, address) in found {
            let stored = self.index.stored(searcher, address)?;
            let matches = matcher.matches(&stored.analysed);
            let mut signals = Signals::of(&stored.analysed, &matches, &matcher);
            if let Some(heading) = &stored.antecedent {
                signals.add_heading(heading, &matcher);
            }
            let mut score = c.weight_bm25 * bm25 / best_bm25
                + c.weight_coverage * signals.coverage
                + c.weight_proximity * signals.proximity;
            if subject
                .is_some_and(|subject| defines(&stored.passage.text, &stored.analysed, subject))
            {
                defined = true;
                score += c.weight_definition;
            }
            if intent
                .is_some_and(|i| intent::answered_in(i, &stored.passage.text, &stored.analysed))
            {
                score += c.weight_intent;
            }
            if is_bare_label(&stored.passage) {
                score -= c.weight_bare_label;
            }
            scored.push((score, signals.coverage, stored, matches, signals));
        }
        scored.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then(a.2.passage.ordinal.cmp(&b.2.passage.ordinal))
        });
        let any_close = scored.iter().any(|s| s.4.proximity > 0.0);
        scored.truncate(top);
        let top_weights = scored
            .first()
            .map(|s| s.4.best_weight.clone())
            .unwrap_or_default();
        let mut hits: Vec<Hit> = scored
            .into_iter()
            .map(|(score, coverage, stored, matches, _)| {
                let display = Display::of(&stored.analysed, &matches, concepts);
                Hit {
                    rank: 0,
                    score,
                    best_sentence: display.best_sentence,
                    highlights: display.highlights,
                    matched_terms: display.matched_terms,
                    coverage,
                    passage: stored.passage.clone(),
                }
            })
            .collect();
        for (i, hit) in hits.iter_mut().enumerate() {
            hit.rank = i + 1;
        }
        Ok(Ranked {
            hits,
            top_weights,
            any_close,
            defined,
        })
    }
}

/// The index statistics one question needs, each looked up once: the
/// question's own rarity checks and BM25's term weights (two fields a term)
/// ask for the same terms, and each lookup walks the term dictionary.
struct Stats<'s> {
    searcher: &'s Searcher,
    doc_freqs: std::cell::RefCell<FastMap<Term, u64>>,
    tokens: std::cell::RefCell<FastMap<Field, u64>>,
}

impl<'s> Stats<'s> {
    fn new(searcher: &'s Searcher) -> Self {
        Stats {
            searcher,
            doc_freqs: Default::default(),
            tokens: Default::default(),
        }
    }
}

impl Bm25StatisticsProvider for Stats<'_> {
    fn total_num_tokens(&self, field: Field) -> tantivy::Result<u64> {
        if let Some(&n) = self.tokens.borrow().get(&field) {
            return Ok(n);
        }
        let n = self.searcher.total_num_tokens(field)?;
        self.tokens.borrow_mut().insert(field, n);
        Ok(n)
    }

    fn total_num_docs(&self) -> tantivy::Result<u64> {
        self.searcher.total_num_docs()
    }

    fn doc_freq(&self, term: &Term) -> tantivy::Result<u64> {
        if let Some(&n) = self.doc_freqs.borrow().get(term) {
            return Ok(n);
        }
        let n = self.searcher.doc_freq(term)?;
        self.doc_freqs.borrow_mut().insert(term.clone(), n);
        Ok(n)
    }
}

/// A concept (by index) a term stands for, and how strongly.
type ConceptWeight = (usize, f32);

/// Which concepts each index term stands for, and how strongly: built once
/// per question so a passage is matched with one lookup per distinct word.
struct Matcher<'q> {
    concepts: &'q [Concept],
    /// Sorted by [`analysis::term_key`] of the stem, for a binary search per word.
    terms: Vec<(u64, &'q str, Vec<ConceptWeight>)>,
    /// A 1024-bit Bloom filter of the keys: most words of a passage are no
    /// question term and are turned away by one bit test.
    bloom: [u64; 16],
    total_idf: f32,
}

impl<'q> Matcher<'q> {
    fn new(concepts: &'q [Concept]) -> Self {
        let mut terms: Vec<(u64, &str, Vec<ConceptWeight>)> = Vec::new();
        for (c, concept) in concepts.iter().enumerate() {
            for (stem, weight) in &concept.alternatives {
                match terms.iter_mut().find(|(_, s, _)| s == stem) {
                    Some((_, _, list)) => list.push((c, *weight)),
                    None => terms.push((analysis::term_key(stem), stem, vec![(c, *weight)])),
                }
            }
        }
        terms.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(b.1)));
        let mut bloom = [0u64; 16];
        for (key, _, _) in &terms {
            let bit = key & 1023;
            bloom[(bit >> 6) as usize] |= 1 << (bit & 63);
        }
        let total_idf = concepts.iter().map(|c| c.idf).sum::<f32>();
        Matcher {
            concepts,
            terms,
            bloom,
            total_idf: total_idf.max(f32::EPSILON),
        }
    }

    fn lookup(&self, key: u64, stem: &str) -> &[(usize, f32)] {
        let bit = key & 1023;
        if self.bloom[(bit >> 6) as usize] & (1 << (bit & 63)) == 0 {
            return &[];
        }
        let first = self.terms.partition_point(|(k, _, _)| *k < key);
        self.terms[first..]
            .iter()
            .take_while(|(k, _, _)| *k == key)
            .find(|(_, s, _)| *s == stem)
            .map_or(&[][..], |(_, _, list)| list.as_slice())
    }

    /// The share of the question (by rarity) that concept weights `best_weight` hold.
    fn coverage(&self, best_weight: &[f32]) -> f32 {
        weighted(self.concepts, best_weight) / self.total_idf
    }

    /// For each token of `analysed`, the concepts it matches.
    fn matches<'a>(&'a self, analysed: &Analysed) -> Matches<'a> {
        let per_form = analysed
            .forms
            .iter()
            .zip(&analysed.stem_keys)
            .map(|((_, stem), &key)| self.lookup(key, stem))
            .collect();
        Matches { per_form }
    }
}

struct Matches<'a> {
    per_form: Vec<&'a [(usize, f32)]>,
}

impl Matches<'_> {
    fn of(&self, token: &Span) -> &[(usize, f32)] {
        self.per_form[token.form]
    }
}

/// The ranking, and what the verdict needs to know of it.
struct Ranked {
    hits: Vec<Hit>,
    /// How strongly the best passage holds each concept (0: not at all).
    top_weights: Vec<f32>,
    /// Some candidate holds two neighbouring question words close together.
    any_close: bool,
    /// Some candidate defines the subject of a "what is X" question.
    defined: bool,
}

/// What the re-ranker scores a passage on.
struct Signals {
    coverage: f32,
    best_weight: Vec<f32>,
    proximity: f32,
}

impl Signals {
    fn of(analysed: &Analysed, matches: &Matches, matcher: &Matcher) -> Signals {
        let n = matcher.concepts.len();
        let mut best_weight = vec![0.0f32; n];
        let mut positions: Vec<Vec<u32>> = vec![Vec::new(); n];
        for token in &analysed.tokens {
            for &(c, w) in matches.of(token) {
                best_weight[c] = best_weight[c].max(w);
                positions[c].push(token.position);
            }
        }
        let coverage = matcher.coverage(&best_weight);

        // Neighbouring question words that stand close together in the passage.
        let matched: Vec<usize> = (0..n).filter(|&c| !positions[c].is_empty()).collect();
        let pairs = n.saturating_sub(1).max(1) as f32;
        let close = matched
            .windows(2)
            .filter(|w| {
                positions[w[0]]
                    .iter()
                    .any(|a| positions[w[1]].iter().any(|b| a.abs_diff(*b) <= 3))
            })
            .count() as f32;
        Signals {
            coverage,
            best_weight,
            proximity: close / pairs,
        }
    }

    /// "This first strategy involves importing a copy of a functional gene":
    /// a passage opening with a reference takes its subject from its section
    /// title, whose words then count for it, at half weight.
    fn add_heading(&mut self, heading: &Analysed, matcher: &Matcher) {
        let matches = matcher.matches(heading);
        for token in &heading.tokens {
            for &(c, w) in matches.of(token) {
                self.best_weight[c] = self.best_weight[c].max(w * HEADING_ANTECEDENT);
            }
        }
        self.coverage = matcher.coverage(&self.best_weight);
    }
}

/// How much a section title's word counts for a passage that leans on the title.
const HEADING_ANTECEDENT: f32 = 0.5;

/// What is shown of a passage: worked out for the passages that are shown only.
struct Display {
    best_sentence: Range<usize>,
    highlights: Vec<Range<usize>>,
    matched_terms: Vec<String>,
}

impl Display {
    fn of(analysed: &Analysed, matches: &Matches, concepts: &[Concept]) -> Display {
        let mut highlights: Vec<Range<usize>> = Vec::new();
        let mut matched_terms: Vec<String> = Vec::new();
        for token in &analysed.tokens {
            if matches.of(token).is_empty() {
                continue;
            }
            highlights.push(token.start..token.end);
            let word = analysed.word(token);
            if !token.derived && !matched_terms.iter().any(|m| m == word) {
                matched_terms.push(word.to_string());
            }
        }
        Display {
            best_sentence: best_sentence(analysed, matches, concepts),
            highlights: merge(highlights),
            matched_terms,
        }
    }
}

fn weighted(concepts: &[Concept], weights: &[f32]) -> f32 {
    concepts.iter().zip(weights).map(|(c, w)| c.idf * w).sum()
}

/// The sentence (or list line) holding the most question content; the first on a tie.
fn best_sentence(analysed: &Analysed, matches: &Matches, concepts: &[Concept]) -> Range<usize> {
    let mut best = analysed.sentences.first().cloned().unwrap_or(0..0);
    let mut best_score = -1.0f32;
    let mut per_concept = vec![0.0f32; concepts.len()];
    for sentence in &analysed.sentences {
        per_concept.fill(0.0);
        for token in &analysed.tokens {
            if token.start >= sentence.start && token.end <= sentence.end {
                for &(c, w) in matches.of(token) {
                    per_concept[c] = per_concept[c].max(w);
                }
            }
        }
        let score = weighted(concepts, &per_concept);
        if score > best_score {
            best_score = score;
            best = sentence.clone();
        }
    }
    best
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

/// The dictionary key range [start, end) of the words starting with `prefix`
/// (no end: to the last word).
fn prefix_range(prefix: &str) -> (String, Option<String>) {
    let mut chars = prefix.chars();
    let end = chars
        .next_back()
        .and_then(|last| char::from_u32(u32::from(last) + 1))
        .map(|next| format!("{}{next}", chars.as_str()));
    (prefix.to_string(), end)
}

/// A figure's title and nothing more ("Vectors used in clinical trials
/// (1989-2017)"): the figure holds what it shows, so the words name a topic
/// the passage says nothing about.
fn is_bare_label(passage: &Passage) -> bool {
    // The credit ("© Inserm, F. Koulikoff") says nothing either.
    passage.kind == BlockKind::Caption
        && crate::passages::word_count(passage.text.split('©').next().unwrap_or_default())
            < LABEL_WORDS
}

const LABEL_WORDS: usize = 12;

/// For "what is X" / "what are X" / "define X": the stems of X.
fn definition_subject(
    read: &str,
    tokens: &[Token],
    concepts: &[Concept],
    expansion: bool,
) -> Option<Vec<String>> {
    let words = analysis::plain_words(tokens);
    let lowered = read.trim_start().to_lowercase().replace('’', "'");
    let asks = expansion
        || match words.as_slice() {
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

/// Stems of verbs that open a definition: "X consists of", "X refers to".
const DEFINING_VERBS: &[&str] = &["consist", "involv", "refer", "mean", "describ", "defin"];

/// Words after "X is" / "X are" that make the sentence a definition ("X is a …",
/// "X are called …"), not a statement about X ("the gene is transported …").
const DEFINING_COMPLEMENTS: &[&str] = &["a", "an", "the", "one", "call", "known", "defin"];

/// "What is X Y", "what are the X Y": a term of two words or more, and
/// nothing but it after the question words.
fn is_compound_subject(tokens: &[Token]) -> bool {
    let words = analysis::plain_words(tokens);
    let rest = match words.as_slice() {
        ["what", "is" | "are", "a" | "an" | "the", rest @ ..] => rest,
        ["what", "is" | "are", rest @ ..] => rest,
        _ => return false,
    };
    rest.len() >= 2 && rest.iter().all(|w| !analysis::is_stop_word(w))
}

/// "stand(s) for", "short for": words of the expansion frame when "for" follows.
const FOR_FRAME: &[&str] = &["stand", "stands", "short"];

/// "acronym", "abbreviation", "abbreviated": words that name the question as one about an acronym.
fn names_acronym(word: &str) -> bool {
    word.starts_with("acronym") || word.starts_with("abbreviat")
}

/// "What does AAV stand for", "AAV is short for", "the acronym CAR".
fn asks_expansion(tokens: &[Token]) -> bool {
    let words = analysis::plain_words(tokens);
    words
        .windows(2)
        .any(|w| FOR_FRAME.contains(&w[0]) && w[1] == "for")
        || words.iter().any(|w| names_acronym(w))
}

/// The question's tokens without the words of the expansion frame.
fn without_expansion_frame(tokens: Vec<Token>) -> Vec<Token> {
    let frame: Vec<u32> = tokens
        .iter()
        .filter(|t| !t.derived && (FOR_FRAME.contains(&t.word.as_str()) || names_acronym(&t.word)))
        .map(|t| t.position)
        .collect();
    tokens
        .into_iter()
        .filter(|t| !frame.contains(&t.position))
        .collect()
}

/// Whether `text` defines `subject`: it spells the acronym out ("adeno-associated
/// virus (or AAV)"), or a sentence starts with `subject` (after an article)
/// followed by a defining verb, or by a colon as in a glossary list.
fn defines(text: &str, analysed: &Analysed, subject: &[String]) -> bool {
    if text.contains('(')
        && crate::lexicon::acronyms(text)
            .iter()
            .any(|pair| pair.first().is_some_and(|acronym| acronym == subject))
    {
        return true;
    }
    analysed.sentences.iter().any(|sentence| {
        let opening: Vec<&Span> = analysed
            .tokens
            .iter()
            .filter(|t| !t.derived && t.start >= sentence.start && t.end <= sentence.end)
            .skip_while(|t| matches!(analysed.stem(t), "the" | "a" | "an" | "•"))
            .take(subject.len() + 2)
            .collect();
        let n = subject.len();
        if n == 0
            || opening.len() < n + 1
            || opening[..n]
                .iter()
                .map(|t| analysed.stem(t))
                .ne(subject.iter().map(String::as_str))
        {
            return false;
        }
        // "Glybera: the first drug commercialized in Europe".
        if text
            .get(opening[n - 1].end..)
            .is_some_and(|rest| rest.starts_with(':'))
        {
            return true;
        }
        let verb = analysed.stem(opening[n]);
        let next = opening.get(n + 1).map(|t| analysed.stem(t));
        DEFINING_VERBS.contains(&verb)
            || (matches!(verb, "is" | "are")
                && next.is_some_and(|w| DEFINING_COMPLEMENTS.contains(&w)))
    })
}

const SYNTAX_NOTICE: &str =
    "Search syntax (AND, OR, NOT, brackets, quotes) is not supported: ask in plain words.";

/// Search-engine syntax left unfinished ("gene AND (therapy OR", `" OR 1=1 --`):
/// a test of the parser or a paste gone wrong, not a question. Well-formed
/// operators ("gene AND therapy") are read as plain words.
fn is_broken_query_syntax(read: &str) -> bool {
    let words: Vec<&str> = read.split_whitespace().collect();
    let operator = |w: &&str| matches!(w.trim_matches(['(', ')', '"']), "AND" | "OR" | "NOT");
    if !words.iter().any(operator) {
        return false;
    }
    let opens = read.matches('(').count();
    let closes = read.matches(')').count();
    let quotes = read.matches('"').count();
    opens != closes
        || quotes % 2 == 1
        || words.first().is_some_and(|w| matches!(*w, "AND" | "OR"))
        || words.last().is_some_and(operator)
}

fn is_greeting(tokens: &[Token]) -> bool {
    let words = analysis::plain_words(tokens);
    words.iter().any(|w| GREETINGS.contains(w))
        && words
            .iter()
            .all(|w| GREETINGS.contains(w) || analysis::is_stop_word(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_split_list_lines() {
        let got: Vec<_> = analysis::sentences("Lead in: one. Two.\n• item a\n• item b")
            .into_iter()
            .map(|(_, s)| s.trim())
            .collect();
        assert_eq!(got, ["Lead in: one.", "Two.", "• item a", "• item b"]);
    }

    #[test]
    fn compound_subjects_are_what_follows_what_is() {
        let compound = |q: &str| is_compound_subject(&analysis::tokens(q));
        assert!(compound("what is base editing"));
        assert!(compound("What are the viral vectors?"));
        assert!(!compound("what is a vector"));
        assert!(!compound("what is Luxturna indicated for"));
        assert!(!compound("how does base editing work"));
    }

    #[test]
    fn acronym_questions_are_recognised_and_their_frame_dropped() {
        let asks = |q: &str| asks_expansion(&analysis::tokens(q));
        assert!(asks("what does AAV stand for"));
        assert!(asks("CAR is short for?"));
        assert!(asks("what is the abbreviation siRNA"));
        assert!(!asks("do the short DNA drugs need a virus"));
        assert!(!asks("what stands in the way of gene therapy"));
        let words: Vec<String> =
            without_expansion_frame(analysis::tokens("what does AAV stand for"))
                .into_iter()
                .map(|t| t.word)
                .collect();
        assert_eq!(words, ["what", "does", "aav", "for"]);
    }

    #[test]
    fn a_caption_that_only_names_its_figure_is_a_bare_label() {
        let caption = |text: &str| Passage {
            ordinal: 0,
            kind: BlockKind::Caption,
            text: text.to_string(),
            citation: crate::passages::Citation {
                document: String::new(),
                section: String::new(),
                file: String::new(),
                lines: [1, 1],
            },
        };
        assert!(is_bare_label(&caption(
            "Vectors used in gene therapy clinical trials (1989-2017)"
        )));
        assert!(is_bare_label(&caption(
            "Exon skipping technique. Flow chart of the exon skipping technique. © Inserm, F. Koulikoff"
        )));
        assert!(!is_bare_label(&caption(
            "Gene therapy for adrenoleukodystrophy. Progenitor cells of treated patients continue to express the therapeutic gene more than 2 years after treatment."
        )));
        let paragraph = Passage {
            kind: BlockKind::Paragraph,
            ..caption("Vectors used in trials")
        };
        assert!(!is_bare_label(&paragraph));
    }

    #[test]
    fn definitions_are_told_from_statements() {
        let defined = |text: &str, subject: &[&str]| {
            let subject: Vec<String> = subject.iter().map(|s| s.to_string()).collect();
            defines(text, &Analysed::of(text), &subject)
        };
        assert!(defined(
            "Gene therapy consists of adding genes.",
            &["gene", "therapi"]
        ));
        assert!(defined("A vector is a vehicle for genes.", &["vector"]));
        assert!(defined(
            "• Glybera: the first drug sold in Europe.",
            &["glybera"]
        ));
        // About the gene, not what a gene is.
        assert!(!defined("The gene is transported by a vector.", &["gene"]));
        assert!(!defined("Glybera costs one million euros.", &["glybera"]));
    }

    #[test]
    fn unfinished_search_syntax_is_recognised() {
        assert!(is_broken_query_syntax("gene AND (therapy OR"));
        assert!(is_broken_query_syntax("\" OR 1=1 --"));
        assert!(is_broken_query_syntax("AAV NOT"));
        assert!(!is_broken_query_syntax("gene AND therapy"));
        assert!(!is_broken_query_syntax("(gene OR cell) therapy"));
        assert!(!is_broken_query_syntax("what is CAR T (chimeric receptor"));
        assert!(!is_broken_query_syntax("is it safe or not"));
    }

    #[test]
    fn greetings_are_recognised() {
        assert!(is_greeting(&analysis::tokens("hi bot")));
        assert!(is_greeting(&analysis::tokens("hello? anyone there")));
        assert!(!is_greeting(&analysis::tokens("hi, what is gene therapy")));
    }

    // Regression: a thank-you took "helped" for a question and cited the
    // passage with "thanks to ... help it".
    #[test]
    fn thanks_and_sign_offs_are_greetings() {
        assert!(is_greeting(&analysis::tokens("thanks, that helped")));
        assert!(is_greeting(&analysis::tokens("great, cheers bot")));
        assert!(!is_greeting(&analysis::tokens(
            "thanks, and what helped the patients"
        )));
    }
}
