//! The tantivy index under `index/`, kept as generations: each build writes a
//! new `gen-*` folder and then switches the `CURRENT` pointer with an atomic
//! rename, so a reader never sees a half-built index and a failed build leaves
//! the previous one answering. A manifest in each generation records the corpus
//! fingerprint and schema version, which decide when an index is stale.
//!
//! [`schema`] says what a passage is in tantivy, [`build`] makes a generation,
//! [`store`] keeps them on disk; this module opens one and answers the few
//! questions the search asks of it.

mod build;
mod schema;
mod store;
mod vectors;

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use tantivy::query::FuzzyTermQuery;
use tantivy::schema::Value;
use tantivy::{
    DocAddress, Index as TantivyIndex, IndexReader, ReloadPolicy, Searcher, TantivyDocument, Term,
};
use tantivy_fst::{IntoStreamer, Streamer};

use crate::analysis::Analysed;
use crate::embed::Model;
use crate::lexicon::Lexicon;
use crate::passages::{Citation, Passage, Span};
use crate::Error;

pub use build::{build, build_with, BuildOptions, BuildReport, Progress};
pub(crate) use schema::Fields;
use schema::{Place, SCHEMA_VERSION};
pub(crate) use store::remove_old_generations;
pub use store::{current_generation, staleness, staleness_of, Manifest, Staleness};
use store::{read_json, LEXICON, MANIFEST, VOCABULARY};
pub use vectors::{PassageVectors, Vectors};

/// An open generation, ready to search.
pub struct Index {
    pub manifest: Manifest,
    /// The generation's folder.
    dir: PathBuf,
    /// Its files' sizes and times when last checked against their checksums.
    /// tantivy never writes a file twice, so a change means damage (or a
    /// hand at work) and the files are checked again.
    checked: Mutex<Vec<FileMark>>,
    pub lexicon: Lexicon,
    fields: Fields,
    reader: IndexReader,
    /// The corpus's surface words, for spelling corrections.
    vocabulary: tantivy_fst::Map<Vec<u8>>,
    /// Passages already read from the store. A generation never changes, so
    /// an entry never goes stale; the map is emptied when it grows past
    /// [`CACHED_PASSAGES`] to bound memory on a large corpus.
    cache: Mutex<HashMap<DocAddress, Arc<Stored>>>,
    /// The passages' embeddings, by each model the build had.
    vectors: Vec<Vectors>,
}

/// A file's name, size and modification time.
type FileMark = (std::ffi::OsString, u64, Option<std::time::SystemTime>);

/// The marks of the files in `dir`, by name.
fn file_marks(dir: &Path) -> Vec<FileMark> {
    let mut marks: Vec<FileMark> = fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let meta = entry.metadata().ok()?;
            Some((entry.file_name(), meta.len(), meta.modified().ok()))
        })
        .collect();
    marks.sort();
    marks
}

/// Most passages [`Index`] keeps read and analysed in memory.
const CACHED_PASSAGES: usize = 8192;

/// A passage as the re-ranker reads it: its text, citation and analysis.
pub struct Stored {
    pub passage: Passage,
    pub analysed: Analysed,
    /// Its section title analysed, made the first time it is asked for.
    section: OnceLock<Analysed>,
}

impl Stored {
    /// The passage's section title, analysed once for all the questions that read it.
    pub fn section_analysed(&self) -> &Analysed {
        self.section
            .get_or_init(|| Analysed::of(&self.passage.citation.section))
    }
}

impl Index {
    /// Opens the current generation.
    pub fn open(index_dir: &Path) -> Result<Index, Error> {
        // A rebuild in another process may switch generations and remove the
        // one just read from CURRENT; then the new one is the one to open.
        let mut attempts = 0;
        loop {
            let generation = current_generation(index_dir)
                .ok_or_else(|| Error::NoIndex(index_dir.to_path_buf()))?;
            match Self::open_generation(index_dir, &generation) {
                Err(e)
                    if attempts < 3
                        && current_generation(index_dir).as_ref() != Some(&generation) =>
                {
                    tracing::debug!(error = %e, "the index changed while opening it; trying again");
                    attempts += 1;
                }
                result => return result,
            }
        }
    }

    fn open_generation(index_dir: &Path, generation: &str) -> Result<Index, Error> {
        let gen_dir = index_dir.join(generation);
        let manifest: Manifest = read_json(&gen_dir.join(MANIFEST))?;
        if manifest.schema_version != SCHEMA_VERSION {
            return Err(Error::bad_index(
                index_dir,
                format!(
                    "schema version {} instead of {SCHEMA_VERSION}",
                    manifest.schema_version
                ),
            ));
        }
        if manifest.titles.len() != manifest.files.len() {
            return Err(Error::bad_index(
                index_dir,
                "the manifest lacks file titles",
            ));
        }
        let lexicon: Lexicon = read_json(&gen_dir.join(LEXICON))?;
        let vocabulary_path = gen_dir.join(VOCABULARY);
        let bytes =
            fs::read(&vocabulary_path).map_err(|e| Error::bad_index(&vocabulary_path, e))?;
        let vocabulary = tantivy_fst::Map::from_bytes(bytes)
            .map_err(|e| Error::bad_index(&vocabulary_path, e))?;
        let index =
            TantivyIndex::open_in_dir(&gen_dir).map_err(|e| Error::bad_index(&gen_dir, e))?;
        schema::register_tokenizers(&index);
        let (expected, fields) = schema::schema();
        if index.schema() != expected {
            return Err(Error::bad_index(&gen_dir, "unexpected schema"));
        }
        store::verify_checksums(&index, &gen_dir)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| Error::bad_index(&gen_dir, e))?;
        let mut vectors = Vec::new();
        for file in [vectors::VECTORS, vectors::SECOND_VECTORS] {
            vectors.extend(Vectors::read(&gen_dir, file, &reader.searcher())?);
        }
        let opened = Index {
            vectors,
            checked: Mutex::new(file_marks(&gen_dir)),
            dir: gen_dir.clone(),
            manifest,
            lexicon,
            fields,
            reader,
            vocabulary,
            cache: Mutex::new(HashMap::new()),
        };
        opened.check_readable(&gen_dir)?;
        Ok(opened)
    }

    /// Opens what every question reads (the passage count, both fields' term
    /// dictionaries), so damage shows now rather than mid-answer.
    fn check_readable(&self, gen_dir: &Path) -> Result<(), Error> {
        let searcher = self.reader.searcher();
        let count = searcher.num_docs();
        if usize::try_from(count).ok() != Some(self.manifest.passages) {
            return Err(Error::bad_index(
                gen_dir,
                format!("{count} passages instead of {}", self.manifest.passages),
            ));
        }
        for segment in searcher.segment_readers() {
            for field in [self.fields.body, self.fields.heading] {
                segment
                    .inverted_index(field)
                    .map_err(|e| Error::bad_index(gen_dir, e))?;
            }
        }
        Ok(())
    }

    /// Checks the generation's files against their checksums again: damage
    /// done since it was opened shows here.
    pub fn verify(&self) -> Result<(), Error> {
        store::verify_checksums(self.reader.searcher().index(), &self.dir)?;
        for vectors in &self.vectors {
            vectors.verify(&self.dir)?;
        }
        Ok(())
    }

    /// Checks the generation's files against their checksums if any of them
    /// changed on disk since the last check; a few `stat` calls otherwise.
    pub fn check_on_disk(&self) -> Result<(), Error> {
        let now = file_marks(&self.dir);
        let mut checked = self.checked.lock().unwrap_or_else(|e| e.into_inner());
        if *checked == now {
            return Ok(());
        }
        self.verify()?;
        *checked = now;
        Ok(())
    }

    /// The passages' embeddings by `model`, if the build made them.
    pub fn vectors(&self, model: &Model) -> Option<&Vectors> {
        self.vectors
            .iter()
            .find(|v| v.model == model.id && v.dimensions == model.dimensions())
    }

    /// A searcher over this generation.
    pub(crate) fn searcher(&self) -> Searcher {
        self.reader.searcher()
    }

    pub(crate) fn fields(&self) -> Fields {
        self.fields
    }

    /// Whether `word` is a word of the corpus (the spelling dictionary's).
    pub(crate) fn knows_word(&self, word: &str) -> bool {
        self.vocabulary.contains_key(word)
    }

    /// Adds the corpus words within `distance` edits of `word` in the
    /// dictionary key range [start, end) (no end: to the last word).
    pub(crate) fn words_within(
        &self,
        word: &str,
        distance: u8,
        (start, end): &(String, Option<String>),
        found: &mut BTreeSet<String>,
    ) -> Result<(), Error> {
        let term = Term::from_field_text(self.fields.body, word);
        let automaton = FuzzyTermQuery::new(term, distance, true).automaton()?;
        let mut range = self.vocabulary.search(automaton).ge(start);
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

    /// The passage at `address`, from the cache or the store.
    pub(crate) fn stored(
        &self,
        searcher: &Searcher,
        address: DocAddress,
    ) -> Result<Arc<Stored>, Error> {
        // A poisoned lock only means another thread panicked mid-insert; the map is still valid.
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&address)
            .cloned();
        if let Some(stored) = cached {
            return Ok(stored);
        }
        let doc: TantivyDocument = searcher.doc(address)?;
        let passage = self.passage(&doc);
        // Analysed again rather than stored: the store stays half the size, the
        // build does less, and a decoded passage is cached, so this runs once.
        let analysed = Analysed::of(&passage.text);
        let stored = Arc::new(Stored {
            passage,
            analysed,
            section: OnceLock::new(),
        });
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHED_PASSAGES {
            cache.clear();
        }
        cache.insert(address, Arc::clone(&stored));
        Ok(stored)
    }

    fn passage(&self, doc: &TantivyDocument) -> Passage {
        let f = &self.fields;
        let text = doc
            .get_first(f.text)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        // A damaged value reads as an empty place rather than failing the answer.
        let place = doc
            .get_first(f.place)
            .and_then(|v| v.as_bytes())
            .and_then(Place::decode)
            .unwrap_or_default();
        let file = usize::try_from(place.file).unwrap_or(usize::MAX);
        let document = self.manifest.titles.get(file).cloned().unwrap_or_default();
        Passage {
            ordinal: place.ordinal,
            kind: place.kind,
            text,
            citation: Citation {
                section: if place.section.is_empty() {
                    document.clone()
                } else {
                    place.section.to_string()
                },
                document,
                file: self
                    .manifest
                    .files
                    .get(file)
                    .map(|stamp| stamp.path.clone())
                    .unwrap_or_default(),
                span: Span::new(
                    place.lines,
                    self.manifest.paged.get(file).copied().unwrap_or(false),
                ),
                url: self.manifest.urls.get(file).cloned().flatten(),
                fragment_edge: place.fragment_edge,
            },
        }
    }
}
