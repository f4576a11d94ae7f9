//! Candidates by BM25: the question's concepts become one tantivy query over
//! the passages' stems and their section titles. The only query code that
//! speaks tantivy; every stage after it works on plain [`Retrieved`] passages.

use std::cell::RefCell;
use std::sync::Arc;

use tantivy::collector::TopDocs;
use tantivy::query::{Bm25StatisticsProvider, BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{DocAddress, Searcher, Term};

use super::query::Concept;
use crate::index::{Index, Stored};
use crate::Error;
use crate::FastMap;

/// How much a match in a passage's section title counts beside one in its text.
const HEADING_BOOST: f32 = 0.5;

/// The index statistics one question needs, each looked up once: the
/// question's own rarity checks and BM25's term weights (two fields a term)
/// ask for the same terms, and each lookup walks the term dictionary.
pub(crate) struct Lookup<'i> {
    index: &'i Index,
    searcher: Searcher,
    doc_freqs: RefCell<FastMap<Term, u64>>,
    tokens: RefCell<FastMap<Field, u64>>,
}

impl<'i> Lookup<'i> {
    pub fn new(index: &'i Index) -> Self {
        Lookup {
            index,
            searcher: index.searcher(),
            doc_freqs: Default::default(),
            tokens: Default::default(),
        }
    }

    pub fn index(&self) -> &'i Index {
        self.index
    }

    /// How many passages there are.
    pub fn passages(&self) -> u64 {
        self.searcher.num_docs()
    }

    /// How many passages hold `stem` in their text.
    pub fn doc_freq(&self, stem: &str) -> Result<u64, Error> {
        let term = Term::from_field_text(self.index.fields().body, stem);
        Ok(Bm25StatisticsProvider::doc_freq(self, &term)?)
    }
}

impl Bm25StatisticsProvider for Lookup<'_> {
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

/// A passage the index found, with its BM25 score.
pub(crate) struct Retrieved {
    pub bm25: f32,
    pub address: DocAddress,
    pub stored: Arc<Stored>,
}

/// The passage at `address`, found by other means than BM25 (which scores it 0).
pub(crate) fn passage(lookup: &Lookup, address: DocAddress) -> Result<Retrieved, Error> {
    Ok(Retrieved {
        bm25: 0.0,
        address,
        stored: lookup.index.stored(&lookup.searcher, address)?,
    })
}

/// The `limit` passages BM25 scores best for `concepts`, best first.
pub(crate) fn candidates(
    lookup: &Lookup,
    concepts: &[Concept],
    limit: usize,
) -> Result<Vec<Retrieved>, Error> {
    let fields = lookup.index.fields();
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for concept in concepts {
        for (stem, weight) in &concept.alternatives {
            for (field, boost) in [(fields.body, 1.0), (fields.heading, HEADING_BOOST)] {
                let term = Term::from_field_text(field, stem);
                // A term no passage holds scores nothing, but its clause would
                // still cost a BM25 weight and a second dictionary lookup.
                if Bm25StatisticsProvider::doc_freq(lookup, &term)? == 0 {
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
    let found = lookup.searcher.search_with_statistics_provider(
        &query,
        &TopDocs::with_limit(limit).order_by_score(),
        lookup,
    )?;
    found
        .into_iter()
        .map(|(bm25, address)| {
            Ok(Retrieved {
                bm25,
                address,
                stored: lookup.index.stored(&lookup.searcher, address)?,
            })
        })
        .collect()
}
