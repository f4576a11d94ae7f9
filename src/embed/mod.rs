//! Sentence embeddings: a text becomes a unit vector whose cosine with
//! another's says how close their meanings are, whatever words they use.
//!
//! The model is a folder in the sentence-transformers layout: `config.json`,
//! `vocab.txt` and `model.safetensors` of a BERT encoder (the project ships
//! all-MiniLM-L6-v2 under `models/`). It pools the mean of the last layer's
//! tokens unless `1_Pooling/config.json` sets `pooling_mode_cls_token`, and
//! puts `config_sentence_transformers.json`'s `prompts.query` before each
//! question (not before passages), as models such as bge are trained. A
//! `SHA256SUMS` file beside them, when present, is checked at load, so a
//! damaged download or a truncated copy is named rather than silently
//! answering worse.

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
    /// Put before a question (not a passage) when it is encoded, as the
    /// model was trained (`config_sentence_transformers.json`'s query prompt).
    query_prompt: String,
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
        let weights_path = dir.join("model.safetensors");
        let missing = |source| ModelError::Missing {
            path: weights_path.clone(),
            source,
        };
        let file = fs::File::open(&weights_path).map_err(missing)?;
        // SAFETY: the map is only read, and citebot never writes a model
        // file. Mapped rather than read: the weights are copied once, into
        // the encoder, not twice, which a one-question run feels in both
        // models' load. A file changed under the map reads as other bytes,
        // which the checksum below refuses.
        let weights = unsafe { memmap2::Mmap::map(&file) }.map_err(missing)?;
        let sums = read_optional(dir, "SHA256SUMS")?
            .map(|bytes| {
                String::from_utf8(bytes).map_err(|e| ModelError::Missing {
                    path: dir.join("SHA256SUMS"),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                })
            })
            .transpose()?;
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
        check_sum(
            dir,
            sums.as_deref(),
            "model.safetensors",
            weights_sum.clone(),
        )?;
        for (name, bytes) in [("config.json", &config), ("vocab.txt", &vocab)] {
            check_sum(dir, sums.as_deref(), name, hex(&Sha256::digest(bytes)))?;
        }
        let (tokenizer, mut bert, dimensions) = built?;
        // Absent, these files mean mean pooling and no prompt; present but
        // unreadable, the model is refused rather than read the wrong way.
        let optional_json = |name: &str| -> Result<Option<serde_json::Value>, ModelError> {
            let Some(bytes) = read_optional(dir, name)? else {
                return Ok(None);
            };
            check_sum(dir, sums.as_deref(), name, hex(&Sha256::digest(&bytes)))?;
            serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| ModelError::Invalid {
                    path: dir.to_path_buf(),
                    reason: format!("{name}: {e}"),
                })
        };
        bert.first_token = optional_json("1_Pooling/config.json")?
            .and_then(|c| c.get("pooling_mode_cls_token")?.as_bool())
            .unwrap_or(false);
        let query_prompt = optional_json("config_sentence_transformers.json")?
            .and_then(|c| Some(c.get("prompts")?.get("query")?.as_str()?.to_string()))
            .unwrap_or_default();
        // The same weights pooled another way make other vectors: an index
        // built with one reading is not reused by the other.
        let id = if bert.first_token || !query_prompt.is_empty() {
            let reading = format!("{weights_sum}|first token|{query_prompt}");
            hex(&Sha256::digest(reading.as_bytes()))[..16].to_string()
        } else {
            weights_sum[..16].to_string()
        };
        Ok(Model {
            tokenizer,
            bert,
            query_prompt,
            id,
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

    /// The embedding of a question, with the model's query prompt before it.
    pub fn encode_query(&self, question: &str) -> Vec<f32> {
        self.encode_queries(&[question]).pop().unwrap_or_default()
    }

    /// [`Model::encode_batch`] for questions: each with the query prompt before it.
    pub fn encode_queries(&self, questions: &[&str]) -> Vec<Vec<f32>> {
        if self.query_prompt.is_empty() {
            return self.encode_batch(questions);
        }
        let prompted: Vec<String> = questions
            .iter()
            .map(|q| format!("{}{q}", self.query_prompt))
            .collect();
        self.encode_batch(&prompted.iter().map(String::as_str).collect::<Vec<_>>())
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

/// The bytes of the model folder's file `name`; none when it is not there.
fn read_optional(dir: &Path, name: &str) -> Result<Option<Vec<u8>>, ModelError> {
    match fs::read(dir.join(name)) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ModelError::Missing {
            path: dir.join(name),
            source,
        }),
    }
}

/// Checks that `actual` is the sha256 `sums` lists for the model file
/// `name`; a file the list leaves out, or no list, passes.
fn check_sum(dir: &Path, sums: Option<&str>, name: &str, actual: String) -> Result<(), ModelError> {
    match sums.and_then(|sums| expected_sum(sums, name)) {
        Some(expected) if expected != actual => Err(ModelError::Damaged {
            path: dir.join(name),
            expected: expected.to_string(),
            actual,
        }),
        _ => Ok(()),
    }
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
    use std::path::Path;

    use super::{cosine, Model};
    use crate::testing::model;

    /// The model files of the folder `shipped` copied to a folder of their
    /// own, with `extra` files (path, contents) beside them.
    fn copy_of_model(shipped: &Path, extra: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "config.json",
            "vocab.txt",
            "model.safetensors",
            "SHA256SUMS",
            "1_Pooling/config.json",
        ] {
            if shipped.join(name).exists() {
                let path = dir.path().join(name);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::copy(shipped.join(name), path).unwrap();
            }
        }
        for (name, contents) in extra {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
        }
        dir
    }

    /// The shipped semantic model's files, with `extra` files beside them.
    fn shipped_model_with(extra: &[(&str, &str)]) -> tempfile::TempDir {
        copy_of_model(
            &crate::config::ModelConfig::default().resolved_path(),
            extra,
        )
    }

    fn load(dir: &Path) -> Model {
        Model::load(dir).unwrap()
    }

    // A model trained with its first token pooled (bge) says so in
    // 1_Pooling/config.json; read as the mean it would answer worse, silently.
    #[test]
    fn a_model_that_pools_its_first_token_is_pooled_so() {
        let text = "a single injection of an AAV vector cured hemophilia";
        let mean = model().encode(text);
        let pooling =
            |json: &str| load(shipped_model_with(&[("1_Pooling/config.json", json)]).path());
        let first_model = pooling(r#"{"pooling_mode_cls_token": true}"#);
        let first = first_model.encode(text);
        assert!((cosine(&first, &first) - 1.0).abs() < 1e-4);
        assert!(cosine(&first, &mean) < 0.99, "{}", cosine(&first, &mean));
        // Its vectors are not the shipped reading's: an index is not shared.
        assert_ne!(first_model.id, model().id);
        let said_mean =
            pooling(r#"{"pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true}"#);
        assert!(cosine(&said_mean.encode(text), &mean) > 0.99999);
        assert_eq!(said_mean.id, model().id);
    }

    #[test]
    fn an_unreadable_pooling_file_refuses_the_model() {
        let dir = shipped_model_with(&[("1_Pooling/config.json", "{pooling")]);
        let error = Model::load(dir.path()).unwrap_err().to_string();
        assert!(error.contains("1_Pooling/config.json"), "{error}");
    }

    // The shipped bge lists its pooling file in SHA256SUMS: an edit that
    // flips the pooling reads as damage, not as another model.
    #[test]
    fn a_pooling_file_listed_in_the_sums_is_checked() {
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/bge-small-en-v1.5");
        let dir = copy_of_model(&shipped, &[]);
        assert!(load(dir.path()).bert.first_token);
        std::fs::write(
            dir.path().join("1_Pooling/config.json"),
            r#"{"pooling_mode_cls_token": false}"#,
        )
        .unwrap();
        let error = Model::load(dir.path()).unwrap_err().to_string();
        assert!(
            error.contains("1_Pooling/config.json is damaged"),
            "{error}"
        );
    }

    // Questions take the model's query prompt; passages never do.
    #[test]
    fn a_query_prompt_goes_before_questions_only() {
        let prompted = load(
            shipped_model_with(&[(
                "config_sentence_transformers.json",
                r#"{"prompts": {"query": "query: ", "document": ""}}"#,
            )])
            .path(),
        );
        let question = "how much does strimvelis cost";
        let with_prompt = prompted.encode_query(question);
        assert!(
            cosine(
                &with_prompt,
                &prompted.encode("query: how much does strimvelis cost")
            ) > 0.99999
        );
        assert!(cosine(&with_prompt, &prompted.encode(question)) < 0.999);
        let batch = prompted.encode_queries(&[question, "why?"]);
        assert!(cosine(&batch[0], &with_prompt) > 0.99999);
        assert!(cosine(&model().encode_query(question), &model().encode(question)) > 0.99999);
    }

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
