//! Sentence embeddings: a text becomes a unit vector whose cosine with
//! another's says how close their meanings are, whatever words they use.
//!
//! The model is a folder in the sentence-transformers layout: `config.json`,
//! `vocab.txt` and `model.safetensors` of a BERT encoder with mean pooling
//! (the project ships all-MiniLM-L6-v2 under `models/`). A `SHA256SUMS` file
//! beside them, when present, is checked at load, so a damaged download or a
//! truncated copy is named rather than silently answering worse.

mod bert;
mod wordpiece;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use bert::{Bert, BertConfig, Scratch};
use wordpiece::WordPiece;

/// Tokens a text is cut to, as sentence-transformers does for this model family.
const MAX_TOKENS: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("no model at {}: {source}", path.display())]
    Missing {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is damaged: its sha256 is {actual}, {} says {expected}", path.display(), "SHA256SUMS")]
    Damaged {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error("the model at {} cannot be used: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
}

/// A loaded sentence-embedding model.
pub struct Model {
    tokenizer: WordPiece,
    bert: Bert,
    /// Names the weights: vectors made by another model are not compared.
    pub id: String,
    dimensions: usize,
    /// Scratch buffers of finished passes, reused by the next.
    scratch: Mutex<Vec<Scratch>>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &self.id)
            .field("dimensions", &self.dimensions)
            .finish_non_exhaustive()
    }
}

impl Model {
    /// Loads the model in `dir`, checking its files against `SHA256SUMS`.
    pub fn load(dir: &Path) -> Result<Model, ModelError> {
        let read = |name: &str| -> Result<Vec<u8>, ModelError> {
            let path = dir.join(name);
            let mut bytes = Vec::new();
            fs::File::open(&path)
                .and_then(|mut f| f.read_to_end(&mut bytes))
                .map_err(|source| ModelError::Missing {
                    path: path.clone(),
                    source,
                })?;
            Ok(bytes)
        };
        let invalid = |reason: String| ModelError::Invalid {
            path: dir.to_path_buf(),
            reason,
        };
        let config = read("config.json")?;
        let vocab = read("vocab.txt")?;
        let weights = read("model.safetensors")?;
        let sums = match fs::read_to_string(dir.join("SHA256SUMS")) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(source) => {
                return Err(ModelError::Missing {
                    path: dir.join("SHA256SUMS"),
                    source,
                })
            }
        };
        let weights_sum = hex(&Sha256::digest(&weights));
        if let Some(sums) = &sums {
            for (name, bytes) in [
                ("config.json", &config),
                ("vocab.txt", &vocab),
                ("model.safetensors", &weights),
            ] {
                let Some(expected) = expected_sum(sums, name) else {
                    continue;
                };
                let actual = if name == "model.safetensors" {
                    weights_sum.clone()
                } else {
                    hex(&Sha256::digest(bytes))
                };
                if actual != expected {
                    return Err(ModelError::Damaged {
                        path: dir.join(name),
                        expected: expected.to_string(),
                        actual,
                    });
                }
            }
        }
        let config: BertConfig =
            serde_json::from_slice(&config).map_err(|e| invalid(format!("config.json: {e}")))?;
        let vocab = std::str::from_utf8(&vocab).map_err(|e| invalid(format!("vocab.txt: {e}")))?;
        let tokenizer = WordPiece::from_vocab(vocab).map_err(invalid)?;
        let dimensions = config.hidden_size;
        let bert = Bert::from_safetensors(config, &weights).map_err(invalid)?;
        if bert.vocab_size() < vocab.lines().count() {
            return Err(invalid(
                "vocab.txt is larger than the embedding table".into(),
            ));
        }
        Ok(Model {
            tokenizer,
            bert,
            id: weights_sum[..16].to_string(),
            dimensions,
            scratch: Mutex::new(Vec::new()),
        })
    }

    pub fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// The token ids `text` is read as, `[CLS]` and `[SEP]` included.
    pub fn tokens(&self, text: &str) -> Vec<u32> {
        self.tokenizer
            .encode(text, MAX_TOKENS.min(self.bert.max_tokens()))
    }

    /// The embedding of `text`, a unit vector.
    pub fn encode(&self, text: &str) -> Vec<f32> {
        let ids = self.tokens(text);
        let mut scratch = self
            .scratch
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default();
        let vector = self.bert.embed(&ids, &mut scratch);
        self.scratch
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(scratch);
        vector
    }

    /// The embeddings of `texts`, in order, on up to `threads` threads;
    /// `progress` is called with each finished count.
    pub fn encode_all(
        &self,
        texts: &[&str],
        threads: usize,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Vec<Vec<f32>> {
        let next = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        let slots: Vec<Mutex<Vec<f32>>> = texts.iter().map(|_| Mutex::default()).collect();
        std::thread::scope(|scope| {
            for _ in 0..threads.clamp(1, texts.len().max(1)) {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(text) = texts.get(i) else { break };
                    let vector = self.encode(text);
                    *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = vector;
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1);
                });
            }
        });
        slots
            .into_iter()
            .map(|s| s.into_inner().unwrap_or_else(|e| e.into_inner()))
            .collect()
    }
}

/// The cosine of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn expected_sum<'s>(sums: &'s str, name: &str) -> Option<&'s str> {
    sums.lines().find_map(|line| {
        let (sum, file) = line.split_once(char::is_whitespace)?;
        (file.trim_start_matches([' ', '*']) == name).then_some(sum)
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
