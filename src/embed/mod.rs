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

/// About how many tokens one pass of [`Model::encode_all`] takes: enough rows
/// for the matrix products to run at full speed, few enough that a pass's
/// buffers stay small.
const PASS_TOKENS: usize = 512;

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
        // The weights' checksum is computed while they are read into the
        // encoder: both take about as long, and a one-question run waits for both.
        let (weights_sum, built) = std::thread::scope(|scope| {
            let sum = scope.spawn(|| hex(&Sha256::digest(&weights)));
            let built = Self::build(dir, &config, &vocab, &weights);
            let sum = sum
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (sum, built)
        });
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
        let (tokenizer, bert, dimensions) = built?;
        Ok(Model {
            tokenizer,
            bert,
            id: weights_sum[..16].to_string(),
            dimensions,
            scratch: Mutex::new(Vec::new()),
        })
    }

    /// The tokenizer and encoder the files describe.
    fn build(
        dir: &Path,
        config: &[u8],
        vocab: &[u8],
        weights: &[u8],
    ) -> Result<(WordPiece, Bert, usize), ModelError> {
        let invalid = |reason: String| ModelError::Invalid {
            path: dir.to_path_buf(),
            reason,
        };
        let config: BertConfig =
            serde_json::from_slice(config).map_err(|e| invalid(format!("config.json: {e}")))?;
        let vocab = std::str::from_utf8(vocab).map_err(|e| invalid(format!("vocab.txt: {e}")))?;
        let tokenizer = WordPiece::from_vocab(vocab).map_err(invalid)?;
        let dimensions = config.hidden_size;
        let bert = Bert::from_safetensors(config, weights).map_err(invalid)?;
        if bert.vocab_size() < vocab.lines().count() {
            return Err(invalid(
                "vocab.txt is larger than the embedding table".into(),
            ));
        }
        Ok((tokenizer, bert, dimensions))
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
        self.encode_batch(&[text]).pop().unwrap_or_default()
    }

    /// The embeddings of `texts`, in order, computed in one pass: cheaper
    /// per text than one pass each when the texts are short (questions).
    pub fn encode_batch(&self, texts: &[&str]) -> Vec<Vec<f32>> {
        let ids: Vec<Vec<u32>> = texts.iter().map(|t| self.tokens(t)).collect();
        let ids: Vec<&[u32]> = ids.iter().map(Vec::as_slice).collect();
        let mut scratch = self
            .scratch
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default();
        let vectors = self.bert.embed(&ids, &mut scratch);
        self.scratch
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(scratch);
        vectors
    }

    /// The embeddings of `texts`, in order, on up to `threads` threads, a
    /// pass taking consecutive texts up to about [`PASS_TOKENS`] tokens;
    /// `progress` is called with each finished count.
    pub fn encode_all(
        &self,
        texts: &[&str],
        threads: usize,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Vec<Vec<f32>> {
        let mut passes = Vec::new();
        let (mut start, mut tokens) = (0, 0);
        for (i, text) in texts.iter().enumerate() {
            // Words are a cheap stand-in for tokens: about 1.3 tokens a word.
            tokens += text.split_whitespace().count() * 4 / 3 + 2;
            if tokens >= PASS_TOKENS {
                passes.push(start..i + 1);
                (start, tokens) = (i + 1, 0);
            }
        }
        if start < texts.len() {
            passes.push(start..texts.len());
        }
        let next = AtomicUsize::new(0);
        let done = AtomicUsize::new(0);
        let slots: Vec<Mutex<Vec<Vec<f32>>>> = passes.iter().map(|_| Mutex::default()).collect();
        std::thread::scope(|scope| {
            for _ in 0..threads.clamp(1, passes.len().max(1)) {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(pass) = passes.get(i) else { break };
                    let vectors = self.encode_batch(&texts[pass.clone()]);
                    *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = vectors;
                    progress(done.fetch_add(pass.len(), Ordering::Relaxed) + pass.len());
                });
            }
        });
        slots
            .into_iter()
            .flat_map(|s| s.into_inner().unwrap_or_else(|e| e.into_inner()))
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

#[cfg(test)]
mod tests {
    use super::cosine;
    use crate::testing::model;

    // Texts stacked in one pass must not see each other: each text's vector
    // is the one it has alone, whatever its neighbours' lengths.
    #[test]
    fn texts_encoded_together_get_the_vectors_they_get_alone() {
        let model = model();
        let texts = [
            "how much does it cost?",
            "Luxturna treats a retinal disease that leads to blindness, in children and adults.",
            "",
            "why?",
        ];
        let together = model.encode_batch(&texts);
        let threaded = model.encode_all(&texts, 2, &|_| {});
        assert_eq!(together.len(), texts.len());
        for ((text, a), b) in texts.iter().zip(&together).zip(&threaded) {
            let alone = model.encode(text);
            assert!(cosine(&alone, a) > 0.99999, "{text:?}");
            assert!(cosine(&alone, b) > 0.99999, "{text:?}");
        }
        assert!(cosine(&together[0], &together[1]) < 0.9);
    }
}
