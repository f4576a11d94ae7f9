//! citebot answers questions about an article with the passages that answer
//! them, each with a citation a reader can check.
//!
//! The pipeline flows one way, a module a stage:
//!
//! [`corpus`] files → [`passages`] → [`index`] (tantivy, fed by [`analysis`],
//! with a [`lexicon`] of equivalent wordings) → [`search`] (question →
//! candidates → re-ranking stages → verdict: an [`answer::Answer`]) →
//! [`render`] → terminal, JSON or [`discord`].
//!
//! [`library`] keeps the index in step with the corpus for the CLI and the
//! bot alike; [`eval`] measures answer quality; [`cli`] wires the commands.

pub mod analysis;
pub mod answer;
pub mod chat;
pub mod citation;
pub mod cli;
pub mod config;
pub mod corpus;
pub mod discord;
pub mod embed;
mod error;
pub mod eval;
pub mod exit;
pub mod feedback;
pub mod index;
pub mod lexicon;
pub mod library;
pub mod passages;
pub mod render;
pub mod search;

pub use error::Error;

/// A `HashMap` with rustc's Fx hash: maps keyed by short words hash several
/// times faster with it than with the default (DoS-resistant) hasher. Corpus
/// words are not chosen by an attacker, and what a question adds is bounded
/// (its length is capped, the form table emptied when full).
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, rustc_hash::FxBuildHasher>;

/// Helpers for the unit tests of several modules.
#[cfg(test)]
pub(crate) mod testing {
    use std::fs;

    /// A scratch folder whose `corpus/` holds one Markdown file, `text`.
    pub fn corpus_with(text: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("corpus")).unwrap();
        fs::write(dir.path().join("corpus/a.md"), text).unwrap();
        dir
    }

    /// An engine with the shipped model over `dir`'s `corpus/`, indexed (with
    /// its passages' embeddings) into `dir/index`.
    pub fn engine_with_model(dir: &tempfile::TempDir) -> crate::search::Engine {
        let (corpus, index_dir) = (dir.path().join("corpus"), dir.path().join("index"));
        let options = crate::index::BuildOptions {
            model: Some(model()),
            ..Default::default()
        };
        crate::index::build_with(&corpus, &index_dir, &options, &mut |_| {}).unwrap();
        crate::search::Engine::new(
            crate::index::Index::open(&index_dir).unwrap(),
            crate::config::SearchConfig::default(),
            Some(model()),
        )
    }

    /// The shipped models, loaded once for all unit tests.
    fn models() -> &'static crate::config::Models {
        static MODELS: std::sync::OnceLock<crate::config::Models> = std::sync::OnceLock::new();
        MODELS.get_or_init(|| {
            crate::config::ModelConfig::default().load_all(&mut |warning| panic!("{warning}"))
        })
    }

    /// The shipped semantic model.
    pub fn model() -> std::sync::Arc<crate::embed::Model> {
        models().semantic.clone().unwrap()
    }

    /// The shipped second-opinion model.
    pub fn second_model() -> std::sync::Arc<crate::embed::Model> {
        models().second.clone().unwrap()
    }
}
