//! Helpers shared by the black-box tests: a scratch folder holding a copy of
//! the repository's corpus, and the real `citebot` binary run inside it.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use assert_cmd::Command;
use citebot::answer::{Answer, Hit, Question};
use citebot::config::{Config, ModelConfig, Models, SearchConfig};
use citebot::embed::Model;
use citebot::search::Engine;

pub fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// A temporary working directory with `corpus/` copied from the repository.
pub fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&repo_file("corpus"), &dir.path().join("corpus"));
    dir
}

/// A temporary working directory whose `corpus/` holds one Markdown file, `text`.
pub fn workspace_with(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    fs::create_dir(dir.path().join("corpus")).expect("create corpus");
    fs::write(dir.path().join("corpus/a.md"), text).expect("write corpus");
    dir
}

pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create dir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// The citebot binary, run in `dir`, with no colour and no config from the
/// environment, on its lexical path: most tests are about the process, and
/// embedding the article at every first use would multiply the suite's time.
pub fn citebot(dir: &Path) -> Command {
    let mut cmd = citebot_with_model(dir);
    cmd.env("CITEBOT_MODEL", "off");
    cmd
}

/// [`citebot`] with the shipped model, as a user runs it.
pub fn citebot_with_model(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("citebot").expect("binary");
    cmd.current_dir(dir)
        .env_remove("CITEBOT_CORPUS")
        .env_remove("CITEBOT_INDEX")
        .env_remove("CITEBOT_CONFIG")
        .env_remove("CITEBOT_MODEL")
        .env_remove("CITEBOT_SECOND_MODEL")
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1");
    cmd
}

/// Runs `cmd`, expects success, and returns its standard output.
pub fn stdout_of(cmd: &mut Command) -> String {
    let out = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(out).expect("UTF-8 output")
}

/// Each line of `text` read as a JSON value (`--json` output, the feedback log).
pub fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// An engine over a small corpus of one Markdown file, built in process.
pub struct Corpus {
    engine: Engine,
    _dir: tempfile::TempDir,
}

impl Corpus {
    pub fn of(text: &str) -> Corpus {
        let dir = workspace_with(text);
        let engine = engine_over(&dir.path().join("corpus"), &dir.path().join("index"));
        Corpus { engine, _dir: dir }
    }

    /// [`Corpus::of`] without the model: the lexical path.
    pub fn lexical(text: &str) -> Corpus {
        let dir = workspace_with(text);
        let opened = citebot::library::open_fresh(
            &dir.path().join("corpus"),
            &dir.path().join("index"),
            &Config::default().build_options(&Models::default()),
            &mut |_| {},
        )
        .expect("the index builds");
        let engine = Engine::new(opened, SearchConfig::default(), None);
        Corpus { engine, _dir: dir }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The answer to `question`, with the passages the CLI shows by default.
    pub fn ask(&self, question: &str) -> Answer {
        self.engine
            .ask(&Question::new(question), 3)
            .expect("search never fails on a good index")
    }

    /// The best passage for `question`, which must be answered.
    pub fn top(&self, question: &str) -> Hit {
        let answer = self.ask(question);
        assert!(answer.answered(), "{question}: not covered");
        answer
            .hits
            .into_iter()
            .next()
            .expect("an answered question has hits")
    }
}

/// The shipped models, loaded once for the whole test binary.
pub fn models() -> &'static Models {
    static MODELS: OnceLock<Models> = OnceLock::new();
    MODELS.get_or_init(|| {
        let models = ModelConfig::default().load_all(&mut |warning| panic!("{warning}"));
        assert!(models.second.is_some(), "the shipped models load");
        models
    })
}

/// The shipped sentence-embedding model of the semantic stage.
pub fn model() -> Arc<Model> {
    models().semantic.clone().expect("the shipped model loads")
}

/// An engine over `corpus`, its index built (or reused) in `index`, with the shipped models.
pub fn engine_over(corpus: &Path, index: &Path) -> Engine {
    let options = Config::default().build_options(models());
    let opened = citebot::library::open_fresh(corpus, index, &options, &mut |_| {})
        .expect("the index builds");
    Engine::new(opened, SearchConfig::default(), Some(model()))
        .with_second_opinion(models().second.clone())
}

/// An engine over the repository's corpus, built once for the whole test binary.
pub fn article() -> &'static Corpus {
    static ARTICLE: OnceLock<Corpus> = OnceLock::new();
    ARTICLE.get_or_init(|| {
        let dir = workspace();
        let engine = engine_over(&dir.path().join("corpus"), &dir.path().join("index"));
        Corpus { engine, _dir: dir }
    })
}

/// The folder of the generation `CURRENT` names in `index`.
pub fn generation_dir(index: &Path) -> PathBuf {
    let name = citebot::index::current_generation(index).expect("a current generation");
    index.join(name)
}

/// Overwrites `len` bytes in the middle of `file` in place, as a failing disk
/// would: same size, same inode, so a reader's memory map sees it too.
pub fn damage(file: &Path, len: usize) {
    use std::io::{Seek, SeekFrom, Write};
    let size = fs::metadata(file).expect("metadata").len();
    let len = len.min(size as usize / 2).max(1);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(file)
        .expect("open for writing");
    f.seek(SeekFrom::Start(size / 2 - len as u64 / 2))
        .expect("seek");
    f.write_all(&vec![0xA5; len]).expect("write");
    f.sync_all().expect("sync");
}

/// The largest file of the current generation in `index`.
pub fn largest_index_file(index: &Path) -> PathBuf {
    fs::read_dir(generation_dir(index))
        .expect("read generation")
        .map(|e| e.expect("entry").path())
        .max_by_key(|p| fs::metadata(p).map_or(0, |m| m.len()))
        .expect("files in the generation")
}
