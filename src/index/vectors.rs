//! The passages' sentence embeddings, kept in the generation beside tantivy's
//! files (`vectors.bin`, and `second-vectors.bin` by the verdict's second
//! model): for each passage its own vector and one per sentence, computed at
//! build time by the configured models.
//!
//! Each row carries a hash of the passage's text: a rebuild takes the rows
//! of the previous generation whose text did not change (same model), so a
//! corpus edit encodes only the passages it touched. A corpus with more
//! passages than the configured limit gets no file: the lexical index is
//! usable as fast as without a model, and the search encodes the candidates
//! it needs when it needs them.
//!
//! Layout, little-endian: magic, model id (16 bytes), dimensions, row count,
//! then per row the passage's segment (by id), document number, text hash,
//! sentence count and its vectors as f16; a SHA-256 of all that closes the
//! file, so damage reads as "no vectors", never as wrong ones.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

use half::f16;
use sha2::{Digest, Sha256};
use tantivy::schema::Value;
use tantivy::{DocAddress, Searcher, TantivyDocument};

use crate::analysis::Analysed;
use crate::embed::Model;
use crate::Error;

pub(crate) const VECTORS: &str = "vectors.bin";
/// The same made by the verdict's second-opinion model.
pub(crate) const SECOND_VECTORS: &str = "second-vectors.bin";
const MAGIC: &[u8; 8] = b"CBVEC01\n";
const ID_BYTES: usize = 16;
/// A segment's id as tantivy writes it (hex).
const SEGMENT_ID_BYTES: usize = 32;

/// One passage's vectors: its own, then one a sentence (none when it has one sentence).
#[derive(Debug, Clone, PartialEq)]
pub struct PassageVectors {
    pub passage: Vec<f32>,
    pub sentences: Vec<Vec<f32>>,
}

/// The embeddings of a generation's passages.
#[derive(Debug, Default)]
pub struct Vectors {
    /// The file they were read from.
    file: &'static str,
    /// The model that made them ([`Model::id`]).
    pub model: String,
    pub dimensions: usize,
    /// In document order: row `i` is the passage at `addresses[i]`.
    pub addresses: Vec<DocAddress>,
    rows: HashMap<DocAddress, usize>,
    hashes: Vec<u64>,
    vectors: Vec<PassageVectors>,
}

impl Vectors {
    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    pub fn get(&self, address: DocAddress) -> Option<&PassageVectors> {
        self.rows.get(&address).map(|&i| &self.vectors[i])
    }

    /// Every passage's own vector, in row order.
    pub fn passages(&self) -> impl Iterator<Item = (DocAddress, &[f32])> {
        self.addresses
            .iter()
            .zip(&self.vectors)
            .map(|(a, v)| (*a, v.passage.as_slice()))
    }

    /// Reads the rows of the vectors file at `path` for their text hashes
    /// only (another generation's documents), to reuse them.
    pub fn read_for_reuse(path: &Path) -> Option<Vectors> {
        let bytes = fs::read(path).ok()?;
        decode(&bytes, None).ok()
    }

    fn by_hash(&self) -> HashMap<u64, &PassageVectors> {
        self.hashes.iter().copied().zip(&self.vectors).collect()
    }

    /// Reads the vectors file `file` in `gen_dir`, keyed by the searcher's
    /// documents: none when the build made none, an error naming the damage
    /// when the file does not check out.
    pub fn read(
        gen_dir: &Path,
        file: &'static str,
        searcher: &Searcher,
    ) -> Result<Option<Vectors>, Error> {
        let path = gen_dir.join(file);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::read(&path, e)),
        };
        decode(&bytes, Some(searcher))
            .map(|vectors| Some(Vectors { file, ..vectors }))
            .map_err(|reason| damaged(gen_dir, file, reason))
    }

    /// Checks the file these vectors were read from, in `gen_dir`, against
    /// its checksum, without decoding it.
    pub fn verify(&self, gen_dir: &Path) -> Result<(), Error> {
        let path = gen_dir.join(self.file);
        let bytes = fs::read(&path).map_err(|e| Error::read(&path, e))?;
        checked_body(&bytes)
            .map(|_| ())
            .map_err(|reason| damaged(gen_dir, self.file, reason))
    }
}

fn damaged(gen_dir: &Path, file: &str, reason: &str) -> Error {
    Error::bad_index(gen_dir, format!("damaged files: {file} ({reason})"))
}

/// The text a passage's vector is made from.
fn hash_text(text: &str) -> u64 {
    let digest = Sha256::digest(text.as_bytes());
    u64::from_le_bytes(digest[..8].try_into().unwrap_or_default())
}

/// The sentences of a passage worth a vector of their own: none when the
/// passage is one sentence (its own vector says it).
fn sentences(text: &str) -> Vec<&str> {
    let analysed = Analysed::of(text);
    let spans: Vec<&str> = analysed
        .sentences
        .iter()
        .filter_map(|s| text.get(s.start..s.end))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if spans.len() < 2 {
        Vec::new()
    } else {
        spans
    }
}

/// Encodes the passages `searcher` holds, reusing `previous`'s rows whose
/// text is unchanged, and writes them to `path`. Returns how many
/// passages were encoded (not reused).
pub(crate) fn write(
    path: &Path,
    searcher: &Searcher,
    text_field: tantivy::schema::Field,
    model: &Model,
    previous: Option<&Vectors>,
    threads: usize,
) -> Result<usize, Error> {
    let reuse: HashMap<u64, &PassageVectors> = previous
        .filter(|p| p.model == model.id)
        .map(Vectors::by_hash)
        .unwrap_or_default();
    let mut rows: Vec<(DocAddress, u64, Option<PassageVectors>, String)> = Vec::new();
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        for doc in segment.doc_ids_alive() {
            let address = DocAddress::new(ord as u32, doc);
            let document: TantivyDocument = searcher.doc(address)?;
            let text = document
                .get_first(text_field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            let hash = hash_text(&text);
            let known = reuse.get(&hash).map(|v| (*v).clone());
            rows.push((address, hash, known, text));
        }
    }
    // Everything to encode in one list, so the threads share the work evenly.
    let mut texts: Vec<&str> = Vec::new();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for (_, _, known, text) in &rows {
        let start = texts.len();
        if known.is_none() {
            texts.push(text);
            texts.extend(sentences(text));
        }
        spans.push((start, texts.len()));
    }
    let encoded = model.encode_all(&texts, threads, &|_| {});
    let mut fresh = 0;
    let mut out = Vec::with_capacity(rows.len());
    for ((address, hash, known, _), (start, end)) in rows.iter().zip(spans) {
        let vectors = match known {
            Some(v) => v.clone(),
            None => {
                fresh += 1;
                PassageVectors {
                    passage: encoded[start].clone(),
                    sentences: encoded[start + 1..end].to_vec(),
                }
            }
        };
        out.push((*address, *hash, vectors));
    }
    let bytes = encode(&model.id, model.dimensions(), searcher, &out);
    super::store::write_atomically(path, &bytes)?;
    Ok(fresh)
}

fn encode(
    model: &str,
    dimensions: usize,
    searcher: &Searcher,
    rows: &[(DocAddress, u64, PassageVectors)],
) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(MAGIC);
    let mut id = [b' '; ID_BYTES];
    for (slot, byte) in id.iter_mut().zip(model.bytes()) {
        *slot = byte;
    }
    b.extend_from_slice(&id);
    b.extend_from_slice(&(dimensions as u32).to_le_bytes());
    let segments = searcher.segment_readers();
    b.extend_from_slice(&(segments.len() as u32).to_le_bytes());
    for segment in segments {
        b.extend_from_slice(segment.segment_id().uuid_string().as_bytes());
    }
    b.extend_from_slice(&(rows.len() as u32).to_le_bytes());
    for (address, hash, vectors) in rows {
        b.extend_from_slice(&address.segment_ord.to_le_bytes());
        b.extend_from_slice(&address.doc_id.to_le_bytes());
        b.extend_from_slice(&hash.to_le_bytes());
        b.extend_from_slice(&(vectors.sentences.len() as u32).to_le_bytes());
        for v in std::iter::once(&vectors.passage).chain(&vectors.sentences) {
            for x in v {
                b.extend_from_slice(&f16::from_f32(*x).to_le_bytes());
            }
        }
    }
    let sum = Sha256::digest(&b);
    b.extend_from_slice(&sum);
    b
}

/// A cursor over the file's bytes.
struct Reader<'b> {
    bytes: &'b [u8],
}

impl<'b> Reader<'b> {
    fn take(&mut self, n: usize) -> Result<&'b [u8], &'static str> {
        if self.bytes.len() < n {
            return Err("truncated");
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn u32(&mut self) -> Result<u32, &'static str> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().map_err(|_| "truncated")?,
        ))
    }

    fn u64(&mut self) -> Result<u64, &'static str> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().map_err(|_| "truncated")?,
        ))
    }

    fn vector(&mut self, dimensions: usize) -> Result<Vec<f32>, &'static str> {
        Ok(self
            .take(dimensions * 2)?
            .chunks_exact(2)
            .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect())
    }
}

/// The file's rows; with a `searcher`, only if they were made for its segments.
/// The file's bytes before its checksum, if it is a vectors file and they match it.
fn checked_body(bytes: &[u8]) -> Result<&[u8], &'static str> {
    if bytes.len() < MAGIC.len() + 32 || &bytes[..MAGIC.len()] != MAGIC {
        return Err("not a vectors file");
    }
    let (body, sum) = bytes.split_at(bytes.len() - 32);
    if Sha256::digest(body).as_slice() != sum {
        return Err("checksum mismatch");
    }
    Ok(body)
}

fn decode(bytes: &[u8], searcher: Option<&Searcher>) -> Result<Vectors, &'static str> {
    let body = checked_body(bytes)?;
    let mut r = Reader {
        bytes: &body[MAGIC.len()..],
    };
    let model = String::from_utf8_lossy(r.take(ID_BYTES)?)
        .trim()
        .to_string();
    let dimensions = r.u32()? as usize;
    let segments = r.u32()? as usize;
    let ids = r.take(segments.saturating_mul(SEGMENT_ID_BYTES))?;
    if let Some(searcher) = searcher {
        let expected: Vec<u8> = searcher
            .segment_readers()
            .iter()
            .flat_map(|s| s.segment_id().uuid_string().into_bytes())
            .collect();
        if ids != expected.as_slice() {
            return Err("made for other segments");
        }
    }
    let count = r.u32()? as usize;
    let mut vectors = Vectors {
        model,
        dimensions,
        ..Vectors::default()
    };
    for row in 0..count {
        let address = DocAddress::new(r.u32()?, r.u32()?);
        let hash = r.u64()?;
        let sentences = r.u32()? as usize;
        if sentences > body.len() / (dimensions * 2).max(1) {
            return Err("truncated");
        }
        let passage = r.vector(dimensions)?;
        let sentences = (0..sentences)
            .map(|_| r.vector(dimensions))
            .collect::<Result<_, _>>()?;
        vectors.addresses.push(address);
        vectors.rows.insert(address, row);
        vectors.hashes.push(hash);
        vectors.vectors.push(PassageVectors { passage, sentences });
    }
    if !r.bytes.is_empty() {
        return Err("trailing bytes");
    }
    Ok(vectors)
}
