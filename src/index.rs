//! The tantivy index under `index/`, kept as generations: each build writes a
//! new `gen-*` folder and then switches the `CURRENT` pointer with an atomic
//! rename, so a reader never sees a half-built index and a failed build leaves
//! the previous one answering. A manifest in each generation records the corpus
//! fingerprint and schema version, which decide when `ask` rebuilds.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tantivy::indexer::UserOperation;
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED,
};
use tantivy::{
    doc, DocAddress, Index as TantivyIndex, IndexReader, IndexWriter, ReloadPolicy, Searcher,
    TantivyDocument,
};

use crate::analysis::{self, Analysed, IndexTerms, PreAnalysedTokenizer, WordRecorder};
use crate::corpus::{self, BlockKind, FileStamp};
use crate::lexicon::{self, Lexicon, Wording};
use crate::passages::{self, Citation, Passage};
use crate::Error;

/// Bumped whenever analysis, passage splitting or the schema changes, so old
/// indexes rebuild themselves.
pub const SCHEMA_VERSION: u32 = 13;

const CURRENT: &str = "CURRENT";
const MANIFEST: &str = "manifest.json";
const LEXICON: &str = "lexicon.json";
/// The spelling dictionary: every surface word of the corpus and its section titles, but words with digits.
const VOCABULARY: &str = "vocabulary.fst";
const GENERATION_PREFIX: &str = "gen-";
/// An unfinished generation older than this is a killed build's leftover.
const ABANDONED_AFTER: Duration = Duration::from_secs(600);

/// Fields fed with strings [`analysis::index_terms`] made, so the text is analysed once.
const PRE_ANALYSED: &str = "citebot_pre_analysed";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub generation: String,
    pub built_at_unix: u64,
    pub passages: usize,
    pub files: Vec<FileStamp>,
    /// The title of each of `files` (empty for the synonym file). A passage
    /// stores its file's number, not these strings: on a corpus of many small
    /// files they were as many bytes as the passages' own text.
    #[serde(default)]
    pub titles: Vec<String>,
}

/// What a build did, for the user.
#[derive(Debug, Clone)]
pub struct BuildReport {
    pub manifest: Manifest,
    pub documents: usize,
    /// Median and largest passage length in words.
    pub words_median: usize,
    pub words_max: usize,
    pub elapsed: Duration,
}

#[derive(Clone, Copy)]
pub(crate) struct Fields {
    pub body: Field,
    pub heading: Field,
    text: Field,
    place: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let indexed = |tokenizer: &str, record: IndexRecordOption| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(record),
        )
    };
    let fields = Fields {
        // No positions: nearness is read from the passage's own analysis, never from postings.
        body: b.add_text_field("body", indexed(PRE_ANALYSED, IndexRecordOption::WithFreqs)),
        heading: b.add_text_field(
            "heading",
            indexed(PRE_ANALYSED, IndexRecordOption::WithFreqs),
        ),
        text: b.add_text_field("text", STORED),
        // The rest of a passage as one value (see `Place`).
        place: b.add_bytes_field("place", STORED),
    };
    (b.build(), fields)
}

fn register_tokenizers(index: &TantivyIndex) {
    let manager = index.tokenizers();
    manager.register(PRE_ANALYSED, PreAnalysedTokenizer);
}

/// How a build uses the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildOptions {
    /// Threads that read and analyse the corpus; tantivy indexes on as many.
    pub threads: usize,
    /// Memory tantivy's writer fills before it writes a segment out, in bytes,
    /// for all threads together (at least 15 MB a thread: fewer threads if less).
    pub writer_memory: usize,
}

/// tantivy refuses a writer thread less memory than this.
const WRITER_MEMORY_PER_THREAD_MIN: usize = 15_000_000;

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
            writer_memory: 128_000_000,
        }
    }
}

impl BuildOptions {
    fn threads(&self) -> usize {
        self.threads
            .min(self.writer_memory / WRITER_MEMORY_PER_THREAD_MIN)
            .max(1)
    }
}

/// How far a build has come, in corpus bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

/// What one corpus file gave to the build.
struct FileResult {
    stamp: FileStamp,
    /// The document's title (empty for the synonym file).
    title: String,
    /// For a document: its acronym pairs and the word count of each passage.
    acronyms: Vec<Vec<Wording>>,
    words: Vec<usize>,
    /// For the synonym file: its text.
    synonyms: Option<String>,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Builds a new generation from the corpus and makes it current.
pub fn build(corpus_dir: &Path, index_dir: &Path) -> Result<BuildReport, Error> {
    build_with(corpus_dir, index_dir, &BuildOptions::default(), &mut |_| {})
}

/// [`build`] with explicit resources, telling `progress` how far it is now and then.
pub fn build_with(
    corpus_dir: &Path,
    index_dir: &Path,
    options: &BuildOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<BuildReport, Error> {
    let started = std::time::Instant::now();
    let files = corpus::list_files(corpus_dir)?;

    fs::create_dir_all(index_dir).map_err(|e| Error::write(index_dir, e))?;
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let generation = format!("{GENERATION_PREFIX}{stamp}-{}", std::process::id());
    let gen_dir = index_dir.join(&generation);
    fs::create_dir(&gen_dir).map_err(|e| Error::write(&gen_dir, e))?;

    let result = write_generation(corpus_dir, &files, &gen_dir, &generation, options, progress)
        .and_then(|report| {
            switch_current(index_dir, &generation)?;
            Ok(report)
        });
    let (manifest, mut words, documents) = match result {
        Ok(r) => r,
        Err(e) => {
            // Best effort: the half-built generation is never current, so leaving it is harmless.
            let _ = fs::remove_dir_all(&gen_dir);
            return Err(e);
        }
    };
    remove_old_generations(index_dir);
    words.sort_unstable();
    Ok(BuildReport {
        manifest,
        documents,
        words_median: words.get(words.len() / 2).copied().unwrap_or(0),
        words_max: words.last().copied().unwrap_or(0),
        elapsed: started.elapsed(),
    })
}

/// Reads, splits, analyses and indexes the corpus files on `options.threads`
/// threads, each taking the next file; what order matters for (the lexicon,
/// the manifest) is put back in file order afterwards.
fn write_generation(
    corpus_dir: &Path,
    files: &[PathBuf],
    gen_dir: &Path,
    generation: &str,
    options: &BuildOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<(Manifest, Vec<usize>, usize), Error> {
    let (schema, fields) = schema();
    let index = TantivyIndex::create_in_dir(gen_dir, schema)?;
    register_tokenizers(&index);
    let threads = options.threads();
    let mut writer = index.writer_with_num_threads::<TantivyDocument>(
        threads,
        options.writer_memory.max(WRITER_MEMORY_PER_THREAD_MIN),
    )?;

    let total: u64 = files
        .iter()
        .map(|p| fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    let next = AtomicUsize::new(0);
    let done = AtomicU64::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<(usize, Result<FileResult, Error>)>> = Mutex::new(Vec::new());
    let vocabularies: Mutex<Vec<Vec<Arc<str>>>> = Mutex::new(Vec::new());
    let (finished, finishing) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        // The workers share these by reference (the closures move only the references).
        let (next, done, failed, results, vocabularies) =
            (&next, &done, &failed, &results, &vocabularies);
        let (writer, fields) = (&writer, &fields);
        for _ in 0..threads {
            let finished = finished.clone();
            scope.spawn(move || {
                let vocabulary = WordRecorder::start();
                while !failed.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(i) else { break };
                    let result = index_file(path, i, writer, fields);
                    failed.fetch_or(result.is_err(), Ordering::Relaxed);
                    let size = result.as_ref().map_or(0, |r| r.stamp.size);
                    done.fetch_add(size, Ordering::Relaxed);
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((i, result));
                }
                let vocabulary = vocabulary.finish(is_spelling_target);
                vocabularies
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(vocabulary);
                let _ = finished.send(());
            });
        }
        drop(finished);
        // Progress now and then; the build goes on the moment the last worker is done.
        let mut running = threads;
        while running > 0 {
            progress(Progress {
                done: done.load(Ordering::Relaxed),
                total,
            });
            match finishing.recv_timeout(Duration::from_millis(100)) {
                Ok(()) => running -= 1,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                // Only if a worker panicked: the scope's join reports it.
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _)| *i);

    let mut lexicon = Lexicon::default();
    let mut stamps = Vec::with_capacity(results.len());
    let mut titles = Vec::with_capacity(results.len());
    let mut words = Vec::new();
    let mut documents = 0;
    let mut synonyms = None;
    for (_, result) in results {
        let file = result?;
        match file.synonyms {
            Some(text) => synonyms = Some((file.stamp.path.clone(), text)),
            None => documents += 1,
        }
        for pair in file.acronyms {
            lexicon.add_equivalents(pair);
        }
        words.extend(file.words);
        stamps.push(file.stamp);
        titles.push(file.title);
    }
    if documents == 0 {
        return Err(Error::EmptyCorpus(corpus_dir.to_path_buf()));
    }
    if let Some((path, text)) = synonyms {
        lexicon.add_synonym_file(Path::new(&path), &text)?;
    }
    progress(Progress { done: total, total });
    // The spelling dictionary is built while tantivy writes its segments out.
    let vocabularies = vocabularies.into_inner().unwrap_or_else(|e| e.into_inner());
    let vocabulary = std::thread::scope(|scope| {
        let vocabulary = scope.spawn(|| vocabulary_fst(vocabularies));
        writer.commit()?;
        writer.wait_merging_threads()?;
        vocabulary
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })?;

    let manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        generation: generation.to_string(),
        built_at_unix: unix_now(),
        passages: words.len(),
        files: stamps,
        titles,
    };
    write_json(&gen_dir.join(LEXICON), &lexicon)?;
    write_atomically(&gen_dir.join(VOCABULARY), &vocabulary)?;
    // The manifest goes last: its presence marks the generation complete.
    write_json(&gen_dir.join(MANIFEST), &manifest)?;
    Ok((manifest, words, documents))
}

/// Whether a typo may be corrected to `word`. Not to a word with a digit:
/// there one edit makes another name ("AAV8" is not "AAV9", "SMN2" not
/// "SMN1"), and such words (versions, codes, identifiers) are half the
/// distinct words of a technical corpus.
fn is_spelling_target(word: &str) -> bool {
    !word.bytes().any(|b| b.is_ascii_digit())
}

/// The workers' words (each list sorted) merged into one dictionary: an FST
/// whose keys are the words (its values are unused).
fn vocabulary_fst(parts: Vec<Vec<Arc<str>>>) -> Result<Vec<u8>, Error> {
    let failed = |e| Error::write(Path::new(VOCABULARY), std::io::Error::other(e));
    let mut builder = tantivy_fst::MapBuilder::memory();
    let mut next = vec![0usize; parts.len()];
    // A merge of a few sorted lists (one a thread): the smallest head next, once.
    loop {
        let heads = parts.iter().zip(&next).filter_map(|(p, &i)| p.get(i));
        let Some(word) = heads.map(AsRef::as_ref).min() else {
            break;
        };
        for (part, i) in parts.iter().zip(&mut next) {
            if part.get(*i).is_some_and(|w| w.as_ref() == word) {
                *i += 1;
            }
        }
        builder.insert(word.as_bytes(), 0).map_err(failed)?;
    }
    builder.into_inner().map_err(failed)
}

/// A block longer than this would need over 12 bytes a word to stay within
/// [`passages::MAX_WORDS`]: it is all but sure to be cut into parts, which are
/// analysed then, so it is only counted.
const LONG_BLOCK_BYTES: usize = 12 * passages::MAX_WORDS;

/// Reads one corpus file, number `number` of the build, and adds its passages to the index.
fn index_file(
    path: &Path,
    number: usize,
    writer: &IndexWriter<TantivyDocument>,
    f: &Fields,
) -> Result<FileResult, Error> {
    let source = corpus::read_file(path)?;
    if !corpus::is_document(path) {
        return Ok(FileResult {
            stamp: source.stamp,
            title: String::new(),
            acronyms: Vec::new(),
            words: Vec::new(),
            synonyms: Some(source.text),
        });
    }
    let doc = corpus::parse(&source.stamp.path, &source.text);
    let mut acronyms = Vec::new();
    let mut words = Vec::new();
    // Passages of a section come together: its title is analysed once for all of them.
    let mut heading: (String, String) = Default::default();
    // Passages go to tantivy's threads in batches: one channel message, and one
    // wake-up of an indexing thread, for many passages rather than each.
    const BATCH: usize = 64;
    let mut batch = Vec::with_capacity(BATCH);
    // Each block is analysed as it is measured; a passage of whole blocks then
    // takes their terms, and only a part cut from a long block is analysed anew.
    let measure = |text: &str| {
        if text.len() > LONG_BLOCK_BYTES {
            (passages::word_count(text), None)
        } else {
            let terms = analysis::index_terms(text);
            (terms.words, Some(terms))
        }
    };
    for (p, parts) in passages::split_measured(&doc, measure) {
        // Outside any section a passage is cited by its document's title.
        let outside = p.citation.section == doc.title;
        if heading.0 != p.citation.section {
            // A title made from the file's name ("linux-doc-6.1--usr-share-…") is a
            // label, not a heading: indexed, it matched questions on path fragments,
            // and cost a headingless file its name again in every passage.
            heading = (
                p.citation.section.clone(),
                if outside && doc.title_from_name {
                    String::new()
                } else {
                    analysis::index_terms(&p.citation.section).stems
                },
            );
        }
        let terms = match parts.and_then(|parts| parts.into_iter().collect::<Option<Vec<_>>>()) {
            Some(parts) => IndexTerms::join(parts),
            None => analysis::index_terms(&p.text),
        };
        acronyms.extend(lexicon::acronyms(&p.text));
        words.push(terms.words);
        let mut document = doc!(
            f.body => terms.stems,
            f.text => p.text.as_str(),
            f.place => Place {
                file: number as u64,
                lines: p.citation.lines,
                ordinal: p.ordinal,
                kind: p.kind,
                // The document's title is in the manifest: not stored again for each passage.
                section: if outside { "" } else { p.citation.section.as_str() },
            }
            .encode(),
        );
        // No heading, no value: most passages of a plain-text corpus have none.
        if !heading.1.is_empty() {
            document.add_text(f.heading, &heading.1);
        }
        batch.push(UserOperation::Add(document));
        if batch.len() == BATCH {
            writer.run(batch.drain(..))?;
        }
    }
    writer.run(batch)?;
    Ok(FileResult {
        stamp: source.stamp,
        title: doc.title,
        acronyms,
        words,
        synonyms: None,
    })
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), Error> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| Error::write(path, e.into()))?;
    write_atomically(path, &bytes)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let mut file = fs::File::create(&tmp).map_err(|e| Error::write(&tmp, e))?;
    file.write_all(bytes).map_err(|e| Error::write(&tmp, e))?;
    file.sync_all().map_err(|e| Error::write(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| Error::write(path, e))
}

fn switch_current(index_dir: &Path, generation: &str) -> Result<(), Error> {
    write_atomically(
        &index_dir.join(CURRENT),
        format!("{generation}\n").as_bytes(),
    )
}

/// The generation `CURRENT` names, if it names one.
pub fn current_generation(index_dir: &Path) -> Option<String> {
    let text = fs::read_to_string(index_dir.join(CURRENT)).ok()?;
    let name = text.trim();
    (name.starts_with(GENERATION_PREFIX) && !name.contains(['/', '\\'])).then(|| name.to_string())
}

/// Keeps the current generation and the one before it (readers may still
/// have it open); removes older ones and abandoned unfinished builds. The
/// current generation is read from `CURRENT`, not taken from the caller: a
/// build in another process may have switched it since the caller looked.
fn remove_old_generations(index_dir: &Path) {
    let Some(current) = current_generation(index_dir) else {
        return;
    };
    let current = current.as_str();
    let Ok(entries) = fs::read_dir(index_dir) else {
        return;
    };
    let current_stamp = generation_stamp(current).map(|(stamp, _)| stamp);
    let mut complete: Vec<(SystemTime, PathBuf)> = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(GENERATION_PREFIX) || name == current {
            continue;
        }
        let path = entry.path();
        let modified = entry
            .metadata()
            .and_then(|m| m.modified())
            .unwrap_or(UNIX_EPOCH);
        if path.join(MANIFEST).exists() {
            // Newer than the current one. Its builder still running: about to
            // become current. Its builder gone: either it did become current
            // (a builder switches `CURRENT` before it exits, so `CURRENT` read
            // again now tells), or it was killed between writing its manifest
            // and switching, and no reader ever had it open.
            let newer = generation_stamp(&name)
                .filter(|(stamp, _)| current_stamp.is_some_and(|c| *stamp > c));
            match newer {
                Some((_, pid)) if process_alive(pid) => {}
                Some(_) => {
                    if current_generation(index_dir).as_deref() != Some(name.as_str()) {
                        let _ = fs::remove_dir_all(&path);
                    }
                }
                None => complete.push((modified, path)),
            }
        } else if modified.elapsed().unwrap_or_default() > ABANDONED_AFTER {
            let _ = fs::remove_dir_all(&path);
        }
    }
    complete.sort();
    complete.pop();
    for (_, path) in complete {
        let _ = fs::remove_dir_all(&path);
    }
}

/// The build time (ms) and builder's process id in a generation's name.
fn generation_stamp(name: &str) -> Option<(u128, u32)> {
    let (stamp, pid) = name.strip_prefix(GENERATION_PREFIX)?.split_once('-')?;
    Some((stamp.parse().ok()?, pid.parse().ok()?))
}

/// Whether process `pid` runs; where that cannot be told, it is taken to run.
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

/// An open generation, ready to search.
pub struct Index {
    pub manifest: Manifest,
    pub lexicon: Lexicon,
    pub(crate) fields: Fields,
    pub(crate) reader: IndexReader,
    /// The corpus's surface words, for spelling corrections.
    pub(crate) vocabulary: tantivy_fst::Map<Vec<u8>>,
    /// Passages already read from the store. A generation never changes, so
    /// an entry never goes stale; the map is emptied when it grows past
    /// [`CACHED_PASSAGES`] to bound memory on a large corpus.
    cache: Mutex<HashMap<DocAddress, Arc<Stored>>>,
}

/// Most passages [`Index`] keeps read and analysed in memory.
const CACHED_PASSAGES: usize = 8192;

/// A passage as the re-ranker reads it: its text, citation and analysis.
pub(crate) struct Stored {
    pub passage: Passage,
    pub analysed: Analysed,
    /// For a passage opening with a reference ("This first strategy…"), its
    /// section title analysed: the title names what the passage is about.
    pub antecedent: Option<Analysed>,
}

impl Index {
    /// Opens the current generation.
    pub fn open(index_dir: &Path) -> Result<Index, Error> {
        // A rebuild in another process may switch generations and remove the
        // one just read from CURRENT; then the new one is the one to open.
        let mut attempts = 0;
        loop {
            let generation = current_generation(index_dir)
                .ok_or_else(|| Error::bad_index(index_dir, "no current generation"))?;
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
        register_tokenizers(&index);
        let (expected, fields) = schema();
        if index.schema() != expected {
            return Err(Error::bad_index(&gen_dir, "unexpected schema"));
        }
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| Error::bad_index(&gen_dir, e))?;
        let opened = Index {
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
        let antecedent = analysis::opens_with_reference(&passage.text)
            .then(|| Analysed::of(&passage.citation.section));
        let stored = Arc::new(Stored {
            passage,
            analysed,
            antecedent,
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
                lines: place.lines,
            },
        }
    }
}

/// Where a passage is and what it is, stored as one value: tantivy's cost is
/// per stored value, and six of them a passage were 6 % of a 100 MB build.
/// Varints (file, lines, ordinal), a kind byte, then the section's text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Place<'a> {
    /// The file's number in the manifest, which holds its path and title.
    file: u64,
    lines: [u32; 2],
    ordinal: u32,
    kind: BlockKind,
    /// Empty outside any section.
    section: &'a str,
}

impl Default for Place<'_> {
    fn default() -> Self {
        Place {
            file: u64::MAX,
            lines: [0, 0],
            ordinal: 0,
            kind: BlockKind::Paragraph,
            section: "",
        }
    }
}

impl<'a> Place<'a> {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + self.section.len());
        let numbers = [
            self.file,
            self.lines[0].into(),
            self.lines[1].into(),
            self.ordinal.into(),
        ];
        for mut n in numbers {
            while n >= 0x80 {
                out.push((n as u8) | 0x80);
                n >>= 7;
            }
            out.push(n as u8);
        }
        out.push(match self.kind {
            BlockKind::Paragraph => 0,
            BlockKind::ListItem => 1,
            BlockKind::Caption => 2,
        });
        out.extend_from_slice(self.section.as_bytes());
        out
    }

    fn decode(mut bytes: &'a [u8]) -> Option<Place<'a>> {
        let mut number = || -> Option<u64> {
            let mut n = 0u64;
            for shift in (0..64).step_by(7) {
                let (&b, rest) = bytes.split_first()?;
                bytes = rest;
                n |= u64::from(b & 0x7f) << shift;
                if b < 0x80 {
                    return Some(n);
                }
            }
            None
        };
        let file = number()?;
        let mut small = || u32::try_from(number()?).ok();
        let (lines, ordinal) = ([small()?, small()?], small()?);
        let (&kind, section) = bytes.split_first()?;
        Some(Place {
            file,
            lines,
            ordinal,
            kind: match kind {
                1 => BlockKind::ListItem,
                2 => BlockKind::Caption,
                _ => BlockKind::Paragraph,
            },
            section: std::str::from_utf8(section).ok()?,
        })
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, Error> {
    let bytes = fs::read(path).map_err(|e| Error::bad_index(path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| Error::bad_index(path, e))
}

/// Why an index must be rebuilt before answering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Staleness {
    Fresh,
    Changed(String),
}

/// Compares the corpus on disk with what the index was built from: sizes and
/// times first, content hashes only when those differ.
pub fn staleness(corpus_dir: &Path, manifest: &Manifest) -> Result<Staleness, Error> {
    staleness_of(&corpus::quick_stamps(corpus_dir)?, manifest)
}

/// [`staleness`] for stamps the caller has already read with [`corpus::quick_stamps`].
pub fn staleness_of(now: &[(PathBuf, FileStamp)], manifest: &Manifest) -> Result<Staleness, Error> {
    let built = &manifest.files;
    let paths_now: Vec<&str> = now.iter().map(|(_, s)| s.path.as_str()).collect();
    let paths_built: Vec<&str> = built.iter().map(|s| s.path.as_str()).collect();
    if paths_now != paths_built {
        return Ok(Staleness::Changed("the corpus has other files".into()));
    }
    for ((path, disk), old) in now.iter().zip(built) {
        if disk.size == old.size && disk.modified_ns == old.modified_ns {
            continue;
        }
        if corpus::read_file(path)?.stamp.sha256 != old.sha256 {
            return Ok(Staleness::Changed(format!("{} was edited", disk.path)));
        }
    }
    Ok(Staleness::Fresh)
}

/// Opens the index, rebuilding it first when it is missing, unreadable, from
/// another schema version, or older than the corpus. `notify` hears about each
/// rebuild (the CLI prints it on stderr). When a needed rebuild fails but an
/// older index opens, that one answers and `notify` says why.
pub fn open_fresh(
    corpus_dir: &Path,
    index_dir: &Path,
    notify: &mut dyn FnMut(&str),
) -> Result<Index, Error> {
    let reason = match Index::open(index_dir) {
        Ok(index) => match staleness(corpus_dir, &index.manifest)? {
            Staleness::Fresh => {
                // A build killed at the wrong moment leaves a generation behind.
                remove_old_generations(index_dir);
                return Ok(index);
            }
            Staleness::Changed(why) => why,
        },
        Err(Error::BadIndex { reason, .. }) if reason == "no current generation" => {
            "there is no index yet".to_string()
        }
        Err(e) => format!("the index cannot be used ({e})"),
    };
    notify(&format!(
        "citebot: rebuilding the index in {}: {reason}",
        index_dir.display()
    ));
    match build(corpus_dir, index_dir) {
        Ok(_) => Index::open(index_dir),
        Err(build_error) => match Index::open(index_dir) {
            Ok(old) => {
                notify(&format!(
                    "citebot: the rebuild failed, answering from the previous index: {build_error}"
                ));
                Ok(old)
            }
            Err(_) => Err(build_error),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus_with(text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("corpus")).unwrap();
        fs::write(dir.path().join("corpus/a.md"), text).unwrap();
        dir
    }

    #[test]
    fn writer_memory_bounds_the_threads() {
        let options = |threads, writer_memory| BuildOptions {
            threads,
            writer_memory,
        };
        assert_eq!(options(4, 128_000_000).threads(), 4);
        assert_eq!(options(4, 40_000_000).threads(), 2);
        assert_eq!(options(4, 1_000_000).threads(), 1);
        assert_eq!(options(0, 128_000_000).threads(), 1);
    }

    #[test]
    fn one_thread_or_several_index_the_same_passages_and_words() {
        let dir = tempfile::tempdir().unwrap();
        let corpus = dir.path().join("corpus");
        fs::create_dir(&corpus).unwrap();
        for i in 0..6 {
            fs::write(
                corpus.join(format!("{i}.md")),
                format!("# Doc {i}\n\n## Part\n\nAdeno-associated virus (AAV) vectors number {i}.\n\nSecond paragraph of document {i} here.\n"),
            )
            .unwrap();
        }
        let open = |threads: usize| {
            let index_dir = dir.path().join(format!("index-{threads}"));
            let options = BuildOptions {
                threads,
                writer_memory: 64_000_000,
            };
            let report = build_with(&corpus, &index_dir, &options, &mut |_| {}).unwrap();
            assert_eq!(report.documents, 6);
            Index::open(&index_dir).unwrap()
        };
        let (one, two) = (open(1), open(2));
        assert_eq!(one.manifest.files, two.manifest.files);
        assert_eq!(one.manifest.passages, two.manifest.passages);
        assert_eq!(one.lexicon, two.lexicon);
        let words = |index: &Index| {
            let mut stream = index.vocabulary.stream();
            let mut out = Vec::new();
            while let Some((word, _)) = tantivy_fst::Streamer::next(&mut stream) {
                out.push(String::from_utf8_lossy(word).into_owned());
            }
            out
        };
        assert_eq!(words(&one), words(&two));
        assert!(words(&one).contains(&"adeno".to_string()));
    }

    #[test]
    fn a_title_made_from_the_file_name_is_no_heading() {
        let dir = tempfile::tempdir().unwrap();
        let corpus_dir = dir.path().join("corpus");
        fs::create_dir(&corpus_dir).unwrap();
        fs::write(
            corpus_dir.join("alpha-notes.txt"),
            "Gamma rays are light.\n",
        )
        .unwrap();
        fs::write(
            corpus_dir.join("b.md"),
            "# Beta report\n\nDelta waves are slow.\n",
        )
        .unwrap();
        let index_dir = dir.path().join("index");
        build(&corpus_dir, &index_dir).unwrap();
        let index = Index::open(&index_dir).unwrap();
        let searcher = index.reader.searcher();
        let in_headings = |stem: &str| {
            let term = tantivy::Term::from_field_text(index.fields.heading, stem);
            searcher.doc_freq(&term).unwrap()
        };
        assert_eq!(in_headings("alpha"), 0);
        assert_eq!(in_headings("beta"), 1);
    }

    #[test]
    fn typos_are_not_corrected_to_words_with_digits() {
        let dir = corpus_with("# T\n\nAAV9 and AAV8 vectors differ by serotype.\n");
        let index_dir = dir.path().join("index");
        build(&dir.path().join("corpus"), &index_dir).unwrap();
        let index = Index::open(&index_dir).unwrap();
        assert!(index.vocabulary.contains_key("serotype"));
        assert!(index.vocabulary.contains_key("aav"));
        assert!(!index.vocabulary.contains_key("aav9"));
    }

    #[test]
    fn a_place_reads_back_as_written_and_damage_reads_as_none() {
        let places = [
            Place::default(),
            Place {
                file: 8_414,
                lines: [1, u32::MAX],
                ordinal: 300,
                kind: BlockKind::Caption,
                section: "Vectors › Non-viral vectors — β-globin",
            },
            Place {
                file: u64::MAX - 1,
                lines: [127, 128],
                ordinal: 0,
                kind: BlockKind::ListItem,
                section: "",
            },
        ];
        for place in places {
            let bytes = place.encode();
            assert_eq!(Place::decode(&bytes), Some(place.clone()));
            // Cut short anywhere before the kind byte, or not UTF-8: no place, no panic.
            let numbers = bytes.len() - place.section.len() - 1;
            for end in 0..=numbers {
                assert_eq!(Place::decode(&bytes[..end]), None);
            }
        }
        let mut bad_text = Place::default().encode();
        bad_text.push(0xff);
        assert_eq!(Place::decode(&bad_text), None);
        // A varint that never ends.
        assert_eq!(Place::decode(&[0x80; 12]), None);
    }

    #[test]
    fn build_then_open_round_trips_passages() {
        let dir = corpus_with(
            "# T\n\n## S\n\nAdeno-associated virus (or AAV) vectors are used widely today.\n",
        );
        let (corpus_dir, index_dir) = (dir.path().join("corpus"), dir.path().join("index"));
        let report = build(&corpus_dir, &index_dir).unwrap();
        assert_eq!(report.manifest.passages, 1);
        let index = Index::open(&index_dir).unwrap();
        assert_eq!(index.lexicon.groups.len(), 1);
        assert_eq!(
            staleness(&corpus_dir, &index.manifest).unwrap(),
            Staleness::Fresh
        );
    }

    #[test]
    fn old_generations_are_removed_but_the_previous_one_kept() {
        let dir = corpus_with("# T\n\nSome words here.\n");
        let (corpus_dir, index_dir) = (dir.path().join("corpus"), dir.path().join("index"));
        for _ in 0..4 {
            build(&corpus_dir, &index_dir).unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
        let generations = fs::read_dir(&index_dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with("gen-")
            })
            .count();
        assert_eq!(generations, 2);
    }

    #[test]
    fn a_generation_whose_build_died_before_switching_is_removed_on_open() {
        let dir = corpus_with("# T\n\nSome words here.\n");
        let (corpus_dir, index_dir) = (dir.path().join("corpus"), dir.path().join("index"));
        build(&corpus_dir, &index_dir).unwrap();
        let current = current_generation(&index_dir).unwrap();
        let (stamp, _) = generation_stamp(&current).unwrap();
        // Complete (a manifest) but never switched in: one by a process that is
        // gone, one by a process that runs (this one) and may still switch.
        let dead = index_dir.join(format!("gen-{}-4000000000", stamp + 1));
        let running = index_dir.join(format!("gen-{}-{}", stamp + 2, std::process::id()));
        for orphan in [&dead, &running] {
            fs::create_dir(orphan).unwrap();
            fs::write(orphan.join(MANIFEST), b"{}").unwrap();
        }
        open_fresh(&corpus_dir, &index_dir, &mut |_| {}).unwrap();
        assert!(!dead.exists());
        assert!(running.exists());
        assert_eq!(current_generation(&index_dir), Some(current));
    }

    #[test]
    fn a_generation_made_current_by_another_process_is_kept() {
        // Regression (3 askers while 6 rebuilds ran failed now and then): a
        // process that had opened generation A saw generation B, newer, its
        // builder gone, and removed it as a never-switched build although
        // B's builder had switched `CURRENT` to B before exiting.
        let dir = corpus_with("# T\n\nSome words here.\n");
        let (corpus_dir, index_dir) = (dir.path().join("corpus"), dir.path().join("index"));
        build(&corpus_dir, &index_dir).unwrap();
        let opened = Index::open(&index_dir).unwrap();
        let (stamp, _) = generation_stamp(&opened.manifest.generation).unwrap();
        let other = format!("gen-{}-4000000000", stamp + 1);
        fs::create_dir(index_dir.join(&other)).unwrap();
        fs::write(index_dir.join(&other).join(MANIFEST), b"{}").unwrap();
        switch_current(&index_dir, &other).unwrap();
        remove_old_generations(&index_dir);
        assert!(index_dir.join(&other).exists());
        assert_eq!(current_generation(&index_dir), Some(other));
    }

    #[test]
    fn a_failed_build_leaves_the_previous_index_current() {
        let dir = corpus_with("# T\n\nSome words here.\n");
        let (corpus_dir, index_dir) = (dir.path().join("corpus"), dir.path().join("index"));
        build(&corpus_dir, &index_dir).unwrap();
        let before = current_generation(&index_dir);
        fs::write(corpus_dir.join("bad.txt"), b"\xff\xfe not utf-8").unwrap();
        let err = build(&corpus_dir, &index_dir).unwrap_err();
        assert!(err.to_string().contains("bad.txt"), "{err}");
        assert_eq!(current_generation(&index_dir), before);
        assert!(Index::open(&index_dir).is_ok());
    }
}
