//! Settings, layered: built-in defaults, then `citebot.toml` (or the file named
//! by `CITEBOT_CONFIG`), then `CITEBOT_*` environment variables.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::embed::Model;

/// Ranking weights and abstention thresholds. The thresholds were calibrated
/// on the development questions (`citebot eval`), not per question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchConfig {
    /// Passages fetched from the index before re-ranking.
    pub candidates: usize,
    /// Longest question read, in characters; the rest is ignored with a notice.
    pub max_question_chars: usize,
    /// Weight of the index's BM25 score (scaled to the best candidate's).
    pub weight_bm25: f32,
    /// Weight of the share of the question's content (by rarity) the passage holds.
    pub weight_coverage: f32,
    /// Weight of question word pairs found next to each other in the passage.
    pub weight_proximity: f32,
    /// The same three weights when no model takes part: fitted without one,
    /// since beside the model's cosines the lexical signals weigh differently.
    pub lexical_only_weight_bm25: f32,
    pub lexical_only_weight_coverage: f32,
    pub lexical_only_weight_proximity: f32,
    /// Weight given to a typo correction relative to the word as typed.
    pub fuzzy_weight: f32,
    /// Weight given to a synonym or acronym expansion.
    pub expansion_weight: f32,
    /// Below this share of the question's content known to the corpus: not covered.
    pub min_known_share: f32,
    /// Below this share of the question's content in the best passage: not covered.
    pub min_coverage: f32,
    /// Passages the model's nearest neighbours add to BM25's candidates.
    pub semantic_candidates: usize,
    /// Weight of the cosine of the passage's embedding with the question's.
    pub weight_similarity: f32,
    /// Weight of the best cosine of one of the passage's sentences with the question.
    pub weight_sentence_similarity: f32,
    /// With a model, the verdict's one score is `confidence_similarity` times
    /// the closest any candidate's sentence comes to the question in meaning
    /// plus `confidence_coverage` times the best passage's share of the
    /// question's words; the question is answered at `min_confidence` or
    /// more. The weights are a logistic regression's on the article's six
    /// first question sets; the threshold is the highest answering 0.95 of
    /// the answerable questions of the two sets the verdict was never
    /// fitted on, which declines every off-topic question they hold
    /// (QUALITY.md, "The threshold, chosen again"); without a model
    /// `min_known_share` and `min_coverage` decide.
    pub confidence_similarity: f32,
    pub confidence_coverage: f32,
    pub min_confidence: f32,
    /// "Hello", "help": answered with how to ask rather than searched.
    pub greetings: bool,
    /// A follow-up's words carried from the turn before weigh this much
    /// beside its own (1); the rarest words of the sentence that answered
    /// that turn weigh `context_answer_weight`; each turn further back
    /// multiplies both by `context_fade`.
    pub context_weight: f32,
    pub context_answer_weight: f32,
    pub context_fade: f32,
    /// `min_confidence` for a follow-up read with words carried from its
    /// conversation: its embedding holds those words too, which sets it
    /// further from the sentence that answers it than the same question
    /// asked alone (fitted on four conversation sets, where the follow-ups
    /// read that way about other subjects, the weather or a passport, score
    /// below 0.55; QUALITY.md).
    pub min_confidence_follow_up: f32,
    /// The verdict's second opinion (`[model] second_opinion`): the closest
    /// a candidate's sentence comes to the question by a second model,
    /// clamped to `second_opinion_range`, adds `second_opinion_weight` times
    /// its distance above `second_opinion_pivot` (held in the range) to the
    /// confidence (below the pivot, it takes away). Fitted beside the
    /// confidence on the article's ten question sets (QUALITY.md); where
    /// the range cannot move the confidence across `min_confidence`, the
    /// second model is not asked. Follow-ups read with carried words keep
    /// their own threshold and no second opinion.
    pub second_opinion_weight: f32,
    pub second_opinion_pivot: f32,
    pub second_opinion_range: [f32; 2],
}

impl Default for SearchConfig {
    fn default() -> Self {
        SearchConfig {
            candidates: 30,
            max_question_chars: 1000,
            weight_bm25: 0.125,
            weight_coverage: 1.25,
            weight_proximity: 0.0,
            lexical_only_weight_bm25: 1.0,
            lexical_only_weight_coverage: 1.0,
            lexical_only_weight_proximity: 0.1,
            fuzzy_weight: 0.8,
            expansion_weight: 0.6,
            min_known_share: 0.45,
            min_coverage: 0.35,
            semantic_candidates: 10,
            weight_similarity: 1.0,
            weight_sentence_similarity: 1.0,
            confidence_similarity: 1.0,
            confidence_coverage: 0.63,
            min_confidence: 0.66,
            greetings: true,
            context_weight: 0.5,
            context_answer_weight: 0.35,
            context_fade: 0.5,
            min_confidence_follow_up: 0.60,
            second_opinion_weight: 2.149,
            second_opinion_pivot: 0.685,
            second_opinion_range: [0.561, 0.861],
        }
    }
}

/// How the Discord bot behaves; the token is never here (it comes from `DISCORD_TOKEN`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscordConfig {
    /// Seconds a user waits between two questions.
    pub cooldown_secs: f32,
    /// A guild to register `/ask` in too (guild commands appear at once; global ones can lag).
    pub dev_guild: Option<u64>,
    /// Passages fetched per question (the first reply shows 3, "More passages" the rest).
    pub passages: usize,
    /// How often the bot looks for a corpus edit or a rebuilt index, in milliseconds.
    pub reload_poll_ms: u64,
    /// Wait before retrying a reply Discord refused with 429, in milliseconds, doubled each try.
    pub retry_backoff_ms: u64,
    /// Ask Discord for the privileged Message Content intent, so that a
    /// follow-up in a thread needs no mention of the bot.
    pub message_content: bool,
    /// Where answers and 👍/👎 votes are logged (JSON lines; `citebot gaps`
    /// reads it); empty: no log, no vote buttons.
    pub feedback_log: PathBuf,
    /// Size at which the log is rotated to `<file>.1`, in MB.
    pub feedback_log_max_mb: u64,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            cooldown_secs: 3.0,
            dev_guild: None,
            passages: 9,
            reload_poll_ms: 1000,
            retry_backoff_ms: 1000,
            message_content: true,
            feedback_log: PathBuf::from("citebot-feedback.jsonl"),
            feedback_log_max_mb: 10,
        }
    }
}

/// How `citebot index` uses the machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IndexConfig {
    /// Threads that read, analyse and index the corpus; 0 means one per core
    /// (fewer when `writer_memory_mb` does not give each 15 MB).
    pub threads: usize,
    /// Memory the index writer fills before writing a segment, in MB, for all
    /// threads together; at least 15 a thread (fewer threads are used if less).
    pub writer_memory_mb: usize,
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig {
            threads: 0,
            writer_memory_mb: 128,
        }
    }
}

impl IndexConfig {
    pub fn build_options(&self) -> crate::index::BuildOptions {
        let defaults = crate::index::BuildOptions::default();
        crate::index::BuildOptions {
            threads: if self.threads == 0 {
                defaults.threads
            } else {
                self.threads
            },
            writer_memory: self.writer_memory_mb.saturating_mul(1_000_000),
            ..defaults
        }
    }
}

/// The sentence-embedding models: the semantic stage's and the verdict's second opinion's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// A model folder (`config.json`, `vocab.txt`, `model.safetensors` of a
    /// BERT sentence encoder); a relative path not found from the working
    /// directory is looked up in citebot's source folder, which ships one.
    pub path: PathBuf,
    /// Off: lexical search only (`CITEBOT_MODEL=off` does the same).
    pub enabled: bool,
    /// A second model folder, whose view of the nearest candidate sentence
    /// joins the verdict (`[search] second_opinion_*`); empty: none
    /// (`CITEBOT_SECOND_MODEL=off` does the same). Only with `path`'s model.
    pub second_opinion: PathBuf,
    /// Above this many passages none are embedded at build time: the search
    /// embeds its candidates when it needs them (and asks no second opinion).
    pub embed_max_passages: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            path: PathBuf::from(SHIPPED_MODEL),
            enabled: true,
            second_opinion: PathBuf::from(SHIPPED_SECOND_MODEL),
            embed_max_passages: 50_000,
        }
    }
}

/// The models the project ships, relative to its folder.
const SHIPPED_MODEL: &str = "models/all-MiniLM-L6-v2";
const SHIPPED_SECOND_MODEL: &str = "models/bge-small-en-v1.5";

/// The models `[model]` names, loaded.
#[derive(Clone, Default)]
pub struct Models {
    /// The semantic stage's; none: lexical search only.
    pub semantic: Option<Arc<Model>>,
    /// The verdict's second opinion's; none: the semantic model's alone.
    pub second: Option<Arc<Model>>,
}

/// Where a model folder is: `path` from the working directory, or else from
/// the folder citebot was built from.
fn resolved(path: &Path) -> PathBuf {
    if path.is_absolute() || path.exists() {
        return path.to_path_buf();
    }
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    if shipped.exists() {
        shipped
    } else {
        path.to_path_buf()
    }
}

impl ModelConfig {
    /// Where the semantic stage's model is.
    pub fn resolved_path(&self) -> PathBuf {
        resolved(&self.path)
    }

    /// Loads the semantic stage's model, or says in one line to `warn` why
    /// the search goes on without it.
    pub fn load(&self, warn: &mut dyn FnMut(&str)) -> Option<Arc<Model>> {
        if !self.enabled {
            return None;
        }
        match Model::load(&self.resolved_path()) {
            Ok(model) => Some(Arc::new(model)),
            Err(e) => {
                warn(&format!(
                    "citebot: warning: {e}; answering with the lexical search only"
                ));
                None
            }
        }
    }

    /// Loads both models (side by side: a one-question run waits for the
    /// slower), each failure one line to `warn`. The second opinion needs the
    /// semantic model's score to join, so it is not loaded without it.
    pub fn load_all(&self, warn: &mut dyn FnMut(&str)) -> Models {
        let wanted = self.enabled && !self.second_opinion.as_os_str().is_empty();
        let (semantic, second) = std::thread::scope(|scope| {
            let second =
                scope.spawn(|| wanted.then(|| Model::load(&resolved(&self.second_opinion))));
            let semantic = self.load(warn);
            let second = second
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (semantic, second)
        });
        let second = match (semantic.is_some(), second) {
            (true, Some(Ok(model))) => Some(Arc::new(model)),
            (true, Some(Err(e))) => {
                warn(&format!(
                    "citebot: warning: {e}; deciding what is covered without the second opinion"
                ));
                None
            }
            _ => None,
        };
        Models { semantic, second }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub search: SearchConfig,
    pub discord: DiscordConfig,
    pub index: IndexConfig,
    pub model: ModelConfig,
}

impl Config {
    /// How to build the index: `[index]`'s resources, and the `models`
    /// (loaded from `[model]`) to embed the passages.
    pub fn build_options(&self, models: &Models) -> crate::index::BuildOptions {
        crate::index::BuildOptions {
            model: models.semantic.clone(),
            second_model: models.second.clone(),
            embed_max_passages: self.model.embed_max_passages,
            ..self.index.build_options()
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the configuration file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the configuration file {} is not valid: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("the environment variable {name} is not a number: {value:?}")]
    Env { name: String, value: String },
}

impl Config {
    /// Defaults, then the file (`CITEBOT_CONFIG`, else `./citebot.toml` if present), then env.
    pub fn load() -> Result<Config, ConfigError> {
        let named = std::env::var_os("CITEBOT_CONFIG").map(PathBuf::from);
        let path = named
            .clone()
            .unwrap_or_else(|| PathBuf::from("citebot.toml"));
        let mut config = if named.is_some() || path.exists() {
            Config::from_file(&path)?
        } else {
            Config::default()
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        })
    }

    fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let float = |name: &str, slot: &mut f32| -> Result<(), ConfigError> {
            if let Some(value) = get(name) {
                *slot = value.trim().parse().map_err(|_| ConfigError::Env {
                    name: name.to_string(),
                    value,
                })?;
            }
            Ok(())
        };
        float("CITEBOT_MIN_KNOWN_SHARE", &mut self.search.min_known_share)?;
        float("CITEBOT_MIN_COVERAGE", &mut self.search.min_coverage)?;
        float("CITEBOT_COOLDOWN_SECS", &mut self.discord.cooldown_secs)?;
        if let Some(value) = get("CITEBOT_DEV_GUILD") {
            self.discord.dev_guild = Some(value.trim().parse().map_err(|_| ConfigError::Env {
                name: "CITEBOT_DEV_GUILD".into(),
                value,
            })?);
        }
        if let Some(value) = get("CITEBOT_WRITER_MEMORY_MB") {
            self.index.writer_memory_mb = value.trim().parse().map_err(|_| ConfigError::Env {
                name: "CITEBOT_WRITER_MEMORY_MB".into(),
                value,
            })?;
        }
        if let Some(value) = get("CITEBOT_MODEL") {
            match value.trim() {
                "off" | "none" | "" => self.model.enabled = false,
                path => {
                    self.model.enabled = true;
                    self.model.path = PathBuf::from(path);
                }
            }
        }
        if let Some(value) = get("CITEBOT_SECOND_MODEL") {
            self.model.second_opinion = match value.trim() {
                "off" | "none" => PathBuf::new(),
                path => PathBuf::from(path),
            };
        }
        if let Some(value) = get("CITEBOT_MAX_QUESTION_CHARS") {
            self.search.max_question_chars =
                value.trim().parse().map_err(|_| ConfigError::Env {
                    name: "CITEBOT_MAX_QUESTION_CHARS".into(),
                    value,
                })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_then_env_override_defaults() {
        let mut config: Config = toml::from_str("[search]\nmin_coverage = 0.5\n").unwrap();
        assert_eq!(config.search.min_coverage, 0.5);
        assert_eq!(config.search.candidates, SearchConfig::default().candidates);
        config
            .apply_env(|name| (name == "CITEBOT_MIN_COVERAGE").then(|| "0.25".to_string()))
            .unwrap();
        assert_eq!(config.search.min_coverage, 0.25);
    }

    #[test]
    fn index_settings_become_build_options() {
        let mut config: Config = toml::from_str("[index]\nthreads = 3\n").unwrap();
        config
            .apply_env(|name| (name == "CITEBOT_WRITER_MEMORY_MB").then(|| "48".to_string()))
            .unwrap();
        let options = config.index.build_options();
        assert_eq!((options.threads, options.writer_memory), (3, 48_000_000));
        // 0 threads: one per core.
        assert!(IndexConfig::default().build_options().threads >= 1);
    }

    #[test]
    fn unknown_keys_and_bad_numbers_are_reported() {
        assert!(toml::from_str::<Config>("[search]\nmin_coverag = 1\n").is_err());
        let err = Config::default()
            .apply_env(|_| Some("lots".into()))
            .unwrap_err();
        assert!(err.to_string().contains("CITEBOT_MIN_KNOWN_SHARE"));
    }
}
