//! The corpus and its index kept in step: opened (and rebuilt first when the
//! index is missing, damaged, from an older citebot or older than the corpus),
//! watched for edits and for generations built by another process, and
//! swapped under whoever is answering. One path for the CLI and the bot.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use crate::config::{Config, Models};
use crate::corpus::{self, FileStamp};
use crate::index::{self, BuildOptions, Index, Staleness};
use crate::search::Engine;
use crate::Error;

/// Opens the index, rebuilding it first when it is missing, unreadable
/// (damaged files included), from another schema version, or older than the
/// corpus. `notify` hears about each rebuild (the CLI prints it on stderr).
/// When a needed rebuild fails but an older index opens, that one answers and
/// `notify` says why.
pub fn open_fresh(
    corpus_dir: &Path,
    index_dir: &Path,
    options: &BuildOptions,
    notify: &mut dyn FnMut(&str),
) -> Result<Index, Error> {
    let reason = match Index::open(index_dir) {
        Ok(index) => match index::staleness(corpus_dir, &index.manifest)? {
            Staleness::Fresh if lacks_second_vectors(&index, options) => {
                "it has no vectors by the second opinion's model".to_string()
            }
            Staleness::Fresh => {
                // A build killed at the wrong moment leaves a generation behind.
                index::remove_old_generations(index_dir);
                return Ok(index);
            }
            Staleness::Changed(why) => why,
        },
        Err(Error::NoIndex(_)) => "there is no index yet".to_string(),
        Err(Error::BadIndex { path, reason }) => {
            format!("{} cannot be used ({reason})", path.display())
        }
        Err(e) => format!("the index cannot be used ({e})"),
    };
    notify(&format!(
        "citebot: rebuilding the index in {}: {reason}",
        index_dir.display()
    ));
    match index::build_with(corpus_dir, index_dir, options, &mut |_| {}) {
        Ok(report) => {
            for why in &report.manifest.skipped {
                notify(&format!("citebot: {why}"));
            }
            Index::open(index_dir)
        }
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

/// Whether `index` was built while the second opinion's model, loaded now,
/// could not be (or with another), on a corpus small enough to embed: the
/// search never encodes passages for the second opinion, which would
/// otherwise be silently left out until the corpus changes.
fn lacks_second_vectors(index: &Index, options: &BuildOptions) -> bool {
    options.model.is_some()
        && index.manifest.passages <= options.embed_max_passages
        && options
            .second_model
            .as_ref()
            .is_some_and(|model| index.vectors(model).is_none())
}

/// An engine over `index` with the configured search settings and models.
fn engine(index: Index, config: &Config, models: &Models) -> Engine {
    let engine = Engine::new(index, config.search.clone(), models.semantic.clone())
        .with_second_opinion(models.second.clone());
    if models.second.is_some() && !engine.second_opinion() {
        tracing::info!(
            "the index holds no vectors by the second opinion's model: the verdict is the first model's alone"
        );
    }
    engine
}

/// An engine over the current index of a corpus, replaced as the corpus or
/// the index changes.
pub struct Library {
    corpus: PathBuf,
    index: PathBuf,
    config: Config,
    /// The models, loaded once for every engine and build.
    models: Models,
    engine: RwLock<Arc<Engine>>,
    /// Held while a damaged index is rebuilt, so that questions failing
    /// together rebuild it once.
    recovering: Mutex<()>,
}

/// What one look at the corpus and index found and did.
#[derive(Debug)]
pub enum Reload {
    /// Nothing to do (or a corpus edit still settling).
    Unchanged,
    /// Another process made a new generation current; it answers now.
    Switched { generation: String },
    /// The index's files were damaged on disk; it was rebuilt from the corpus
    /// and answers now.
    Repaired { generation: String },
    /// The corpus changed; the index was rebuilt and answers now. `skipped`
    /// names the documents it could not read, each with why.
    Rebuilt {
        generation: String,
        passages: usize,
        skipped: Vec<String>,
    },
    /// The new generation or the rebuild failed; the previous index keeps answering.
    Failed(Error),
}

/// What the watcher remembers between two looks.
#[derive(Debug, Default)]
pub struct Watch {
    /// Corpus stamps seen changed at the last look: rebuilt once they hold still.
    pending: Option<Vec<(PathBuf, FileStamp)>>,
    /// Corpus stamps whose rebuild failed: not tried again until they change.
    failed: Option<Vec<(PathBuf, FileStamp)>>,
}

impl Library {
    /// Opens the corpus's index as [`open_fresh`] does, with the configured
    /// build options, model and search settings. A model that cannot be
    /// loaded is one warning to `notify`; the search goes on without it.
    pub fn open(
        corpus: &Path,
        index: &Path,
        config: Config,
        notify: &mut dyn FnMut(&str),
    ) -> Result<Library, Error> {
        let models = config.model.load_all(notify);
        let opened = open_fresh(corpus, index, &config.build_options(&models), notify)?;
        let engine = engine(opened, &config, &models);
        Ok(Library {
            corpus: corpus.to_path_buf(),
            index: index.to_path_buf(),
            engine: RwLock::new(Arc::new(engine)),
            models,
            config,
            recovering: Mutex::new(()),
        })
    }

    /// The engine answering now; a swap does not disturb a question it answers.
    pub fn engine(&self) -> Arc<Engine> {
        match self.engine.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn swap(&self, index: Index) {
        let engine = Arc::new(engine(index, &self.config, &self.models));
        match self.engine.write() {
            Ok(mut guard) => *guard = engine,
            Err(poisoned) => *poisoned.into_inner() = engine,
        }
    }

    fn rebuild(&self) -> Result<Index, Error> {
        let options = self.config.build_options(&self.models);
        index::build_with(&self.corpus, &self.index, &options, &mut |_| {})?;
        Index::open(&self.index)
    }

    /// One look (blocking): switches to a generation another process made
    /// current, rebuilds an index whose files were damaged on disk, or
    /// rebuilds after a corpus edit once its files have held still for one look.
    pub fn reload(&self, watch: &mut Watch) -> Reload {
        let engine = self.engine();
        let manifest = engine.index().manifest.clone();
        if index::current_generation(&self.index).is_some_and(|g| g != manifest.generation) {
            return match Index::open(&self.index) {
                Ok(index) => {
                    let generation = index.manifest.generation.clone();
                    self.swap(index);
                    Reload::Switched { generation }
                }
                Err(e) => Reload::Failed(e),
            };
        }
        if engine.index().check_on_disk().is_err() {
            return match self.replace_damaged(&engine) {
                Ok(()) => Reload::Repaired {
                    generation: self.engine().index().manifest.generation.clone(),
                },
                Err(e) => Reload::Failed(e),
            };
        }
        drop(engine);
        let Ok(stamps) = corpus::quick_stamps(&self.corpus) else {
            return Reload::Unchanged;
        };
        let changed = matches!(
            index::staleness_of(&stamps, &manifest),
            Ok(Staleness::Changed(_))
        );
        if !changed || watch.failed.as_ref() == Some(&stamps) {
            watch.pending = None;
            return Reload::Unchanged;
        }
        if watch.pending.as_ref() != Some(&stamps) {
            watch.pending = Some(stamps);
            return Reload::Unchanged;
        }
        watch.pending = None;
        match self.rebuild() {
            Ok(index) => {
                watch.failed = None;
                let manifest = &index.manifest;
                let (generation, passages, skipped) = (
                    manifest.generation.clone(),
                    manifest.passages,
                    manifest.skipped.clone(),
                );
                self.swap(index);
                Reload::Rebuilt {
                    generation,
                    passages,
                    skipped,
                }
            }
            Err(e) => {
                watch.failed = Some(stamps);
                Reload::Failed(e)
            }
        }
    }

    /// After `failed` could not answer (blocking): when its index's files are
    /// damaged, rebuilds the index from the corpus and swaps it in. True when
    /// another engine now answers, so the question is worth asking again.
    pub fn recover(&self, failed: &Engine) -> Result<bool, Error> {
        if self.engine().index().manifest.generation != failed.index().manifest.generation {
            // Another engine answers already (a rebuild, a switch).
            return Ok(true);
        }
        if failed.index().verify().is_ok() {
            return Ok(false);
        }
        self.replace_damaged(failed)?;
        Ok(true)
    }

    /// Rebuilds the index from the corpus in place of `damaged`'s, unless
    /// another question or the watcher did so meanwhile.
    fn replace_damaged(&self, damaged: &Engine) -> Result<(), Error> {
        let _one_at_a_time = self.recovering.lock().unwrap_or_else(|e| e.into_inner());
        let generation = &damaged.index().manifest.generation;
        if self.engine().index().manifest.generation == *generation {
            tracing::warn!(%generation, "the index is damaged; rebuilding it from the corpus");
            let index = self.rebuild()?;
            self.swap(index);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::corpus_with;
    use std::fs;

    #[test]
    fn a_generation_whose_build_died_before_switching_is_removed_on_open() {
        let dir = corpus_with("# T\n\nSome words here.\n");
        let (corpus_dir, index_dir) = (dir.path().join("corpus"), dir.path().join("index"));
        index::build(&corpus_dir, &index_dir).unwrap();
        let current = index::current_generation(&index_dir).unwrap();
        let stamp: u128 = current
            .trim_start_matches("gen-")
            .split('-')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        // Complete (a manifest) but never switched in: one by a process that is
        // gone, one by a process that runs (this one) and may still switch.
        let dead = index_dir.join(format!("gen-{}-4000000000", stamp + 1));
        let running = index_dir.join(format!("gen-{}-{}", stamp + 2, std::process::id()));
        for orphan in [&dead, &running] {
            fs::create_dir(orphan).unwrap();
            fs::write(orphan.join("manifest.json"), b"{}").unwrap();
        }
        open_fresh(
            &corpus_dir,
            &index_dir,
            &BuildOptions::default(),
            &mut |_| {},
        )
        .unwrap();
        assert!(!dead.exists());
        assert!(running.exists());
        assert_eq!(index::current_generation(&index_dir), Some(current));
    }

    // Regression: `ask` and the bot rebuilt with the default build options,
    // whatever `[index]` said.
    #[test]
    fn index_settings_are_honoured_on_every_rebuild() {
        let dir = corpus_with("# T\n\nSome words here.\n");
        let (corpus_dir, index_dir) = (dir.path().join("corpus"), dir.path().join("index"));
        let mut config = Config::default();
        config.index.threads = 3;
        let threads = |library: &Library| library.engine().index().manifest.threads;
        // Built on first use.
        let library = Library::open(&corpus_dir, &index_dir, config.clone(), &mut |_| {}).unwrap();
        assert_eq!(threads(&library), 3);
        // Rebuilt by the watcher after an edit (it waits for the files to hold still).
        fs::write(corpus_dir.join("a.md"), "# T\n\nOther words here.\n").unwrap();
        let mut watch = Watch::default();
        assert!(matches!(library.reload(&mut watch), Reload::Unchanged));
        assert!(matches!(library.reload(&mut watch), Reload::Rebuilt { .. }));
        assert_eq!(threads(&library), 3);
        // Rebuilt when opened stale.
        fs::write(corpus_dir.join("a.md"), "# T\n\nThird words here.\n").unwrap();
        let library = Library::open(&corpus_dir, &index_dir, config, &mut |_| {}).unwrap();
        assert_eq!(threads(&library), 3);
    }

    #[test]
    fn an_index_damaged_on_disk_is_rebuilt_at_the_next_look() {
        let dir = corpus_with(
            "# T\n\n## S\n\nAdeno-associated virus (or AAV) vectors are used widely.\n",
        );
        let (corpus_dir, index_dir) = (dir.path().join("corpus"), dir.path().join("index"));
        let library =
            Library::open(&corpus_dir, &index_dir, Config::default(), &mut |_| {}).unwrap();
        let mut watch = Watch::default();
        assert!(matches!(library.reload(&mut watch), Reload::Unchanged));
        let before = library.engine().index().manifest.generation.clone();
        let generation = index_dir.join(&before);
        let store = fs::read_dir(&generation)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "store"))
            .unwrap();
        let mut bytes = fs::read(&store).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        fs::write(&store, bytes).unwrap();
        match library.reload(&mut watch) {
            Reload::Repaired { generation } => assert_ne!(generation, before),
            other => panic!("{other:?}"),
        }
        assert_ne!(library.engine().index().manifest.generation, before);
        assert!(matches!(library.reload(&mut watch), Reload::Unchanged));
    }
}
