//! A build: the corpus read, split into passages, analysed and indexed on
//! several threads into a new generation, which is then made current.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tantivy::indexer::UserOperation;
use tantivy::{doc, Index as TantivyIndex, IndexWriter, TantivyDocument};

use super::schema::{self, Fields, Place, SCHEMA_VERSION};
use super::store::{self, Manifest, LEXICON, MANIFEST, VOCABULARY};
use crate::analysis::{self, IndexTerms, WordRecorder};
use crate::citation;
use crate::corpus::{self, FileStamp};
use crate::embed::Model;
use crate::lexicon::{self, Lexicon, Wording};
use crate::passages;
use crate::Error;

use super::vectors::{self, Vectors};

/// What a build did, for the user.
#[derive(Debug, Clone)]
pub struct BuildReport {
    pub manifest: Manifest,
    pub documents: usize,
    /// Median and largest passage length in words.
    pub words_median: usize,
    pub words_max: usize,
    /// Passages the model encoded, the others' vectors reused from the
    /// previous generation; none when no vectors were made.
    pub embedded: Option<usize>,
    pub elapsed: Duration,
}

/// How a build uses the machine.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// Threads that read and analyse the corpus; tantivy indexes on as many.
    pub threads: usize,
    /// Memory tantivy's writer fills before it writes a segment out, in bytes,
    /// for all threads together (at least 15 MB a thread: fewer threads if less).
    pub writer_memory: usize,
    /// The model that embeds the passages; none: a lexical index only.
    pub model: Option<Arc<Model>>,
    /// The verdict's second opinion's model, which embeds them too.
    pub second_model: Option<Arc<Model>>,
    /// Above this many passages none are embedded at build time (the search
    /// embeds the candidates it needs), so a large corpus is indexed as fast
    /// as without a model.
    pub embed_max_passages: usize,
}

/// tantivy refuses a writer thread less memory than this.
const WRITER_MEMORY_PER_THREAD_MIN: usize = 15_000_000;

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            // One a core; the writer memory bounds them too (see `threads()`).
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            writer_memory: 128_000_000,
            model: None,
            second_model: None,
            embed_max_passages: 50_000,
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
    /// The document's title (empty for the synonym file or a skipped document).
    title: String,
    url: Option<String>,
    paged: bool,
    /// Why a document could not be read and was left out.
    skipped: Option<String>,
    /// For a document: its acronym pairs and the word count of each passage.
    acronyms: Vec<Vec<Wording>>,
    words: Vec<usize>,
    /// For the synonym file: its text.
    synonyms: Option<String>,
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
    let generation = format!("{}{stamp}-{}", store::GENERATION_PREFIX, std::process::id());
    let gen_dir = index_dir.join(&generation);
    fs::create_dir(&gen_dir).map_err(|e| Error::write(&gen_dir, e))?;

    let previous = store::current_generation(index_dir).map(|g| index_dir.join(g));
    let result = write_generation(corpus_dir, &files, &gen_dir, &generation, options, progress)
        .and_then(|report| {
            let embedded = embed(&gen_dir, previous.as_deref(), options, report.0.passages)?;
            Ok((report, embedded))
        })
        .and_then(|report| {
            store::switch_current(index_dir, &generation)?;
            Ok(report)
        });
    let ((manifest, mut words, documents), embedded) = match result {
        Ok(r) => r,
        Err(e) => {
            // Best effort: the half-built generation is never current, so leaving it is harmless.
            let _ = fs::remove_dir_all(&gen_dir);
            return Err(e);
        }
    };
    store::remove_old_generations(index_dir);
    words.sort_unstable();
    Ok(BuildReport {
        manifest,
        documents,
        words_median: words.get(words.len() / 2).copied().unwrap_or(0),
        words_max: words.last().copied().unwrap_or(0),
        embedded,
        elapsed: started.elapsed(),
    })
}

/// Embeds the new generation's passages with the build's models, if it has
/// them and the corpus is small enough, taking unchanged passages' vectors
/// from the `previous` generation. Before the manifest's switch: a generation
/// is current with its vectors or (too many passages) without them. Counts
/// the passages the semantic model encoded.
fn embed(
    gen_dir: &Path,
    previous: Option<&Path>,
    options: &BuildOptions,
    passages: usize,
) -> Result<Option<usize>, Error> {
    let Some(model) = &options.model else {
        return Ok(None);
    };
    if passages > options.embed_max_passages {
        tracing::info!(
            passages,
            limit = options.embed_max_passages,
            "too many passages to embed at build time; the search embeds its candidates"
        );
        return Ok(None);
    }
    let index = TantivyIndex::open_in_dir(gen_dir)?;
    let searcher = index.reader()?.searcher();
    let (_, fields) = schema::schema();
    let embed_with = |file: &str, model: &Model| -> Result<usize, Error> {
        let started = std::time::Instant::now();
        let previous = previous.and_then(|dir| Vectors::read_for_reuse(&dir.join(file)));
        let fresh = vectors::write(
            &gen_dir.join(file),
            &searcher,
            fields.text,
            model,
            previous.as_ref(),
            options.threads.max(1),
        )?;
        tracing::info!(file, passages, encoded = fresh, elapsed = ?started.elapsed(), "passages embedded");
        Ok(fresh)
    };
    let encoded = embed_with(vectors::VECTORS, model)?;
    if let Some(second) = &options.second_model {
        embed_with(vectors::SECOND_VECTORS, second)?;
    }
    Ok(Some(encoded))
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
    let (schema, fields) = schema::schema();
    let index = TantivyIndex::create_in_dir(gen_dir, schema)?;
    schema::register_tokenizers(&index);
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
    let mut urls = Vec::with_capacity(results.len());
    let mut paged = Vec::with_capacity(results.len());
    let mut skipped = Vec::new();
    let mut words = Vec::new();
    let mut documents = 0;
    let mut synonyms = None;
    for (_, result) in results {
        let file = result?;
        match (file.synonyms, file.skipped) {
            (Some(text), _) => synonyms = Some((file.stamp.path.clone(), text)),
            (None, Some(why)) => skipped.push(why),
            (None, None) => documents += 1,
        }
        urls.push(file.url);
        paged.push(file.paged);
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
        built_at_unix: store::unix_now(),
        passages: words.len(),
        files: stamps,
        titles,
        threads,
        urls,
        paged,
        skipped,
    };
    store::write_json(&gen_dir.join(LEXICON), &lexicon)?;
    store::write_atomically(&gen_dir.join(VOCABULARY), &vocabulary)?;
    // The manifest goes last: its presence marks the generation complete.
    store::write_json(&gen_dir.join(MANIFEST), &manifest)?;
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
    let unread = |stamp: FileStamp, synonyms: Option<String>, skipped: Option<String>| FileResult {
        stamp,
        title: String::new(),
        url: None,
        paged: false,
        skipped,
        acronyms: Vec::new(),
        words: Vec::new(),
        synonyms,
    };
    if !corpus::is_document(path) {
        let text = source.text()?.to_string();
        return Ok(unread(source.stamp, Some(text), None));
    }
    let doc = match corpus::parse(&source.stamp.path, &source.bytes) {
        Ok(doc) => doc,
        // Named by whoever reads the build's report (the CLI, the bot's watcher).
        Err(e @ Error::Unreadable { .. }) => {
            return Ok(unread(source.stamp, None, Some(e.to_string())));
        }
        Err(e) => return Err(e),
    };
    // A document with an address is cited by links into its page: each
    // passage's fragments quote as many words as its page needs to find them.
    let page = doc
        .url
        .is_some()
        .then(|| citation::Page::of(&doc, &source.bytes));
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
                lines: p.citation.span.range(),
                ordinal: p.ordinal,
                kind: p.kind,
                fragment_edge: page.as_ref().map_or(citation::FRAGMENT_EDGE, |page| {
                    citation::fragment_edge(page, &p.text)
                }),
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
        url: doc.url,
        paged: doc.paged,
        skipped: None,
        acronyms,
        words,
        synonyms: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::store::current_generation;
    use crate::index::{staleness, Index, Staleness};
    use crate::testing::corpus_with;

    #[test]
    fn writer_memory_bounds_the_threads() {
        let options = |threads, writer_memory| BuildOptions {
            threads,
            writer_memory,
            ..BuildOptions::default()
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
                ..BuildOptions::default()
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
    fn a_corpus_edit_embeds_only_the_passages_it_changed() {
        let text = |last: &str| {
            format!("# T\n\n## A\n\nVectors carry genes into cells.\n\n## B\n\nSome trials are small.\n\n## C\n\n{last}\n")
        };
        let dir = corpus_with(&text("Glybera was the first drug."));
        let (corpus_dir, index_dir) = (dir.path().join("corpus"), dir.path().join("index"));
        let (model, second_model) = (crate::testing::model(), crate::testing::second_model());
        let options = BuildOptions {
            model: Some(model.clone()),
            second_model: Some(second_model.clone()),
            ..BuildOptions::default()
        };
        let first = build_with(&corpus_dir, &index_dir, &options, &mut |_| {}).unwrap();
        assert_eq!(first.embedded, Some(3));
        fs::write(corpus_dir.join("a.md"), text("Luxturna treats the retina.")).unwrap();
        let second = build_with(&corpus_dir, &index_dir, &options, &mut |_| {}).unwrap();
        assert_eq!(second.embedded, Some(1));
        let index = Index::open(&index_dir).unwrap();
        for model in [&model, &second_model] {
            let vectors = index.vectors(model).expect("vectors by both models");
            assert_eq!(vectors.len(), 3);
            assert_eq!(vectors.dimensions, 384);
        }
        assert_ne!(model.id, second_model.id);
        // Over the limit: the lexical index alone, as fast as without a model.
        let limited = BuildOptions {
            embed_max_passages: 2,
            ..options
        };
        let third = build_with(&corpus_dir, &index_dir, &limited, &mut |_| {}).unwrap();
        assert_eq!(third.embedded, None);
        let index = Index::open(&index_dir).unwrap();
        assert!(index.vectors(&model).is_none() && index.vectors(&second_model).is_none());
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
