//! A BERT encoder's forward pass on the CPU, for one text at a time: the
//! sentence-transformers models (all-MiniLM-L6-v2 and its kin) are small
//! enough that matrix products through `matrixmultiply` make it fast, and a
//! hand-written pass keeps the build light (no tensor framework).
//!
//! Weights come from a `model.safetensors` (f32, f16 or bf16) and its
//! `config.json`, as the Hugging Face `BertModel` names them.

use std::collections::HashMap;

use half::f16;
use serde::Deserialize;

/// What `config.json` says of the encoder's shape.
#[derive(Debug, Clone, Deserialize)]
pub struct BertConfig {
    pub hidden_size: usize,
    pub num_attention_heads: usize,
    pub num_hidden_layers: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f32,
    #[serde(default = "default_act")]
    pub hidden_act: String,
}

fn default_eps() -> f32 {
    1e-12
}

fn default_act() -> String {
    "gelu".into()
}

struct Linear {
    /// `[out][in]`, as PyTorch stores it.
    weight: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

impl Linear {
    /// `y = x Wᵀ + b` for `rows` rows of `x`.
    fn apply(&self, x: &[f32], rows: usize, y: &mut Vec<f32>) {
        assert_eq!(x.len(), rows * self.inputs);
        assert_eq!(self.weight.len(), self.inputs * self.outputs);
        y.clear();
        y.resize(rows * self.outputs, 0.0);
        if !few_rows::product(x, rows, &self.weight, self.inputs, self.outputs, y) {
            // SAFETY: the asserted lengths cover every index sgemm reads or
            // writes: x is rows×inputs (row-major), the weight inputs×outputs
            // read transposed (row stride 1, column stride inputs), y rows×outputs.
            unsafe {
                matrixmultiply::sgemm(
                    rows,
                    self.inputs,
                    self.outputs,
                    1.0,
                    x.as_ptr(),
                    self.inputs as isize,
                    1,
                    self.weight.as_ptr(),
                    1,
                    self.inputs as isize,
                    0.0,
                    y.as_mut_ptr(),
                    self.outputs as isize,
                    1,
                );
            }
        }
        for row in y.chunks_exact_mut(self.outputs) {
            for (v, b) in row.iter_mut().zip(&self.bias) {
                *v += b;
            }
        }
    }
}

struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

impl Norm {
    fn apply(&self, x: &mut [f32]) {
        let width = self.weight.len();
        for row in x.chunks_exact_mut(width) {
            let mean = row.iter().sum::<f32>() / width as f32;
            let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / width as f32;
            let scale = 1.0 / (var + self.eps).sqrt();
            for ((v, w), b) in row.iter_mut().zip(&self.weight).zip(&self.bias) {
                *v = (*v - mean) * scale * w + b;
            }
        }
    }
}

struct Layer {
    /// Query, key and value in one product: `[3 × hidden][hidden]`.
    qkv: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    intermediate: Linear,
    output: Linear,
    output_norm: Norm,
}

pub struct Bert {
    config: BertConfig,
    /// The largest table, kept in half precision: a row is widened when read.
    words: Vec<f16>,
    vocab_size: usize,
    positions: Vec<f32>,
    token_type: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
}

/// Scratch space for one forward pass, reused between texts.
#[derive(Default)]
pub struct Scratch {
    x: Vec<f32>,
    qkv: Vec<f32>,
    scores: Vec<f32>,
    context: Vec<f32>,
    tmp: Vec<f32>,
    wide: Vec<f32>,
}

impl Bert {
    pub fn from_safetensors(config: BertConfig, bytes: &[u8]) -> Result<Bert, String> {
        let tensors = Tensors::parse(bytes)?;
        let hidden = config.hidden_size;
        if hidden == 0
            || config.num_attention_heads == 0
            || !hidden.is_multiple_of(config.num_attention_heads)
        {
            return Err("hidden_size is not a multiple of num_attention_heads".into());
        }
        if !matches!(config.hidden_act.as_str(), "gelu" | "gelu_new") {
            return Err(format!("unsupported activation {}", config.hidden_act));
        }
        let eps = config.layer_norm_eps;
        let norm = |name: &str| -> Result<Norm, String> {
            Ok(Norm {
                weight: tensors.f32(&format!("{name}.weight"), &[hidden])?,
                bias: tensors.f32(&format!("{name}.bias"), &[hidden])?,
                eps,
            })
        };
        let linear = |name: &str, inputs: usize, outputs: usize| -> Result<Linear, String> {
            Ok(Linear {
                weight: tensors.f32(&format!("{name}.weight"), &[outputs, inputs])?,
                bias: tensors.f32(&format!("{name}.bias"), &[outputs])?,
                inputs,
                outputs,
            })
        };
        let prefix = if tensors.has("embeddings.word_embeddings.weight") {
            ""
        } else {
            "bert."
        };
        let words = tensors.halves(&format!("{prefix}embeddings.word_embeddings.weight"))?;
        if words.len() % hidden != 0 {
            return Err("the word embeddings do not match hidden_size".into());
        }
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let at = |part: &str| format!("{prefix}encoder.layer.{i}.{part}");
            let (q, k, v) = (
                linear(&at("attention.self.query"), hidden, hidden)?,
                linear(&at("attention.self.key"), hidden, hidden)?,
                linear(&at("attention.self.value"), hidden, hidden)?,
            );
            layers.push(Layer {
                qkv: Linear {
                    weight: [q.weight, k.weight, v.weight].concat(),
                    bias: [q.bias, k.bias, v.bias].concat(),
                    inputs: hidden,
                    outputs: 3 * hidden,
                },
                attention_out: linear(&at("attention.output.dense"), hidden, hidden)?,
                attention_norm: norm(&at("attention.output.LayerNorm"))?,
                intermediate: linear(&at("intermediate.dense"), hidden, config.intermediate_size)?,
                output: linear(&at("output.dense"), config.intermediate_size, hidden)?,
                output_norm: norm(&at("output.LayerNorm"))?,
            });
        }
        Ok(Bert {
            vocab_size: words.len() / hidden,
            words,
            positions: tensors.f32(
                &format!("{prefix}embeddings.position_embeddings.weight"),
                &[config.max_position_embeddings, hidden],
            )?,
            token_type: tensors.f32_prefix(
                &format!("{prefix}embeddings.token_type_embeddings.weight"),
                hidden,
            )?,
            embedding_norm: norm(&format!("{prefix}embeddings.LayerNorm"))?,
            layers,
            config,
        })
    }

    pub fn max_tokens(&self) -> usize {
        self.config.max_position_embeddings
    }

    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// For each text's token `ids`, the mean of the last layer's token
    /// vectors, L2-normalised. The texts go through the layers together,
    /// their tokens stacked without padding: each weight matrix is read once
    /// for all of them (a question alone is too few rows to pay for reading
    /// it), and only attention is done text by text.
    pub fn embed(&self, texts: &[&[u32]], s: &mut Scratch) -> Vec<Vec<f32>> {
        let h = self.config.hidden_size;
        let spans: Vec<(usize, usize)> = texts
            .iter()
            .scan(0, |start, ids| {
                let n = ids.len().min(self.max_tokens());
                let span = (*start, n);
                *start += n;
                Some(span)
            })
            .collect();
        let rows: usize = spans.iter().map(|&(_, n)| n).sum();
        s.x.clear();
        s.x.resize(rows * h, 0.0);
        for (ids, &(start, n)) in texts.iter().zip(&spans) {
            for (t, &id) in ids[..n].iter().enumerate() {
                let row = &mut s.x[(start + t) * h..(start + t + 1) * h];
                let id = (id as usize).min(self.vocab_size - 1);
                for (((v, w), p), y) in row
                    .iter_mut()
                    .zip(&self.words[id * h..(id + 1) * h])
                    .zip(&self.positions[t * h..(t + 1) * h])
                    .zip(&self.token_type)
                {
                    *v = w.to_f32() + p + y;
                }
            }
        }
        self.embedding_norm.apply(&mut s.x);
        for layer in &self.layers {
            self.attend(layer, &spans, s);
            layer.intermediate.apply(&s.x, rows, &mut s.wide);
            s.wide.iter_mut().for_each(|v| *v = gelu(*v));
            layer.output.apply(&s.wide, rows, &mut s.tmp);
            add(&mut s.x, &s.tmp);
            layer.output_norm.apply(&mut s.x);
        }
        spans
            .iter()
            .map(|&(start, n)| {
                let mut pooled = vec![0.0f32; h];
                for row in s.x[start * h..(start + n) * h].chunks_exact(h) {
                    add(&mut pooled, row);
                }
                let norm = pooled.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
                pooled.iter_mut().for_each(|v| *v /= norm);
                pooled
            })
            .collect()
    }

    /// Self-attention of each text's tokens (`spans` of rows: start, count)
    /// over its own tokens, added to `s.x`.
    fn attend(&self, layer: &Layer, spans: &[(usize, usize)], s: &mut Scratch) {
        let h = self.config.hidden_size;
        let heads = self.config.num_attention_heads;
        let d = h / heads;
        let scale = 1.0 / (d as f32).sqrt();
        let rows: usize = spans.iter().map(|&(_, n)| n).sum();
        layer.qkv.apply(&s.x, rows, &mut s.qkv);
        s.context.clear();
        s.context.resize(rows * h, 0.0);
        let stride = 3 * h;
        for &(start, n) in spans {
            if n == 0 {
                continue;
            }
            s.scores.resize(n * n, 0.0);
            let base = start * stride;
            for head in 0..heads {
                let (q, k, v) = (
                    base + head * d,
                    base + h + head * d,
                    base + 2 * h + head * d,
                );
                // SAFETY: every read is within qkv (the span's n rows of 3h
                // from row `start`, head columns d wide inside a row), every
                // write within scores (n×n) and context (the span's n rows of
                // h, the head's d columns).
                unsafe {
                    matrixmultiply::sgemm(
                        n,
                        d,
                        n,
                        scale,
                        s.qkv.as_ptr().add(q),
                        stride as isize,
                        1,
                        s.qkv.as_ptr().add(k),
                        1,
                        stride as isize,
                        0.0,
                        s.scores.as_mut_ptr(),
                        n as isize,
                        1,
                    );
                }
                for row in s.scores.chunks_exact_mut(n) {
                    softmax(row);
                }
                unsafe {
                    matrixmultiply::sgemm(
                        n,
                        n,
                        d,
                        1.0,
                        s.scores.as_ptr(),
                        n as isize,
                        1,
                        s.qkv.as_ptr().add(v),
                        stride as isize,
                        1,
                        0.0,
                        s.context.as_mut_ptr().add(start * h + head * d),
                        h as isize,
                        1,
                    );
                }
            }
        }
        layer.attention_out.apply(&s.context, rows, &mut s.tmp);
        add(&mut s.x, &s.tmp);
        layer.attention_norm.apply(&mut s.x);
    }
}

fn add(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += b;
    }
}

fn softmax(row: &mut [f32]) {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    row.iter_mut().for_each(|v| *v /= sum);
}

/// BERT's exact GELU, `x·Φ(x)`, with erf from Abramowitz and Stegun 7.1.26
/// (error under 1.5e-7, below f32's own resolution of Φ's values near 1): a
/// polynomial and one `exp` instead of a library `erf`'s branches, which
/// took a tenth of an encoding.
fn gelu(x: f32) -> f32 {
    let z = (x * std::f32::consts::FRAC_1_SQRT_2).abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let erf = 1.0 - poly * (-z * z).exp();
    0.5 * x * (1.0 + erf.copysign(x))
}

/// The tensors of a safetensors file, by name.
struct Tensors<'a> {
    data: &'a [u8],
    entries: HashMap<String, Entry>,
}

#[derive(Deserialize)]
struct Entry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

impl<'a> Tensors<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Tensors<'a>, String> {
        let size = bytes
            .get(..8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()) as usize)
            .ok_or("the file is shorter than a safetensors header")?;
        let header = bytes
            .get(8..8usize.saturating_add(size))
            .ok_or("the safetensors header runs past the end of the file")?;
        let mut raw: HashMap<String, serde_json::Value> =
            serde_json::from_slice(header).map_err(|e| format!("bad safetensors header: {e}"))?;
        raw.remove("__metadata__");
        let entries = raw
            .into_iter()
            .map(|(name, value)| {
                serde_json::from_value::<Entry>(value)
                    .map(|entry| (name.clone(), entry))
                    .map_err(|e| format!("bad entry {name}: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Tensors {
            data: &bytes[8 + size..],
            entries,
        })
    }

    fn has(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// The raw bytes and dtype of `name`, checked to hold `count` values.
    fn raw(&self, name: &str) -> Result<(&'a [u8], &str, usize), String> {
        let entry = self
            .entries
            .get(name)
            .ok_or_else(|| format!("the model lacks {name}"))?;
        let count: usize = entry.shape.iter().product();
        let width = match entry.dtype.as_str() {
            "F32" => 4,
            "F16" | "BF16" => 2,
            other => return Err(format!("{name} is {other}, not a float type")),
        };
        let [start, end] = entry.data_offsets;
        let bytes = self
            .data
            .get(start..end)
            .filter(|b| b.len() == count * width)
            .ok_or_else(|| format!("{name}'s data lies outside the file"))?;
        Ok((bytes, &entry.dtype, count))
    }

    /// The values of `name` widened to f32; half-precision ones in bulk
    /// (the `half` crate converts slices with the CPU's F16C instructions),
    /// which is most of what loading the model costs a one-question run.
    fn values(&self, name: &str) -> Result<Vec<f32>, String> {
        let (bytes, dtype, count) = self.raw(name)?;
        let mut out = vec![0.0f32; count];
        match dtype {
            "F32" => {
                for (v, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                    *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                }
            }
            "F16" => half::slice::HalfFloatSliceExt::convert_to_f32_slice(
                self.halves(name)?.as_slice(),
                &mut out,
            ),
            _ => {
                for (v, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                    *v = half::bf16::from_le_bytes([b[0], b[1]]).to_f32();
                }
            }
        }
        Ok(out)
    }

    /// The values of `name` in half precision: copied when stored so.
    fn halves(&self, name: &str) -> Result<Vec<f16>, String> {
        let (bytes, dtype, _) = self.raw(name)?;
        if dtype == "F16" {
            return Ok(bytes
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]))
                .collect());
        }
        let wide = self.values(name)?;
        let mut out = vec![f16::ZERO; wide.len()];
        half::slice::HalfFloatSliceExt::convert_from_f32_slice(out.as_mut_slice(), &wide);
        Ok(out)
    }

    fn f32(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
        let shape_found = &self.entries.get(name).map(|e| e.shape.clone());
        if shape_found.as_deref().is_some_and(|s| s != shape) {
            return Err(format!(
                "{name} has shape {shape_found:?}, expected {shape:?}"
            ));
        }
        self.values(name)
    }

    /// The first row (`width` values) of `name`.
    fn f32_prefix(&self, name: &str, width: usize) -> Result<Vec<f32>, String> {
        let mut values = self.values(name)?;
        if values.len() < width {
            return Err(format!("{name} is shorter than one row"));
        }
        values.truncate(width);
        Ok(values)
    }
}

/// `x Wᵀ` for a question's dozen tokens. A general matrix product copies the
/// whole weight matrix into its own layout on every call, which for a few
/// rows costs more than the arithmetic; here each weight row is read once
/// and multiplied with every row of `x`, which stays in the L1 cache.
mod few_rows {
    /// Most rows of `x` for which this beats the general product.
    const MAX_ROWS: usize = 48;

    /// Writes `x Wᵀ` into `y` and says true, or says false (no AVX2/FMA, or
    /// too many rows) and leaves `y` alone.
    pub fn product(
        x: &[f32],
        rows: usize,
        w: &[f32],
        inputs: usize,
        outputs: usize,
        y: &mut [f32],
    ) -> bool {
        #[cfg(target_arch = "x86_64")]
        if rows <= MAX_ROWS
            && inputs.is_multiple_of(16)
            && std::arch::is_x86_feature_detected!("avx512f")
        {
            // SAFETY: the CPU has AVX-512F (checked just above); the
            // caller's lengths are asserted inside.
            unsafe { avx512(x, rows, w, inputs, outputs, y) };
            return true;
        }
        #[cfg(target_arch = "x86_64")]
        if rows <= MAX_ROWS
            && inputs.is_multiple_of(8)
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA (checked just above); the
            // caller's lengths are asserted inside.
            unsafe { avx2(x, rows, w, inputs, outputs, y) };
            return true;
        }
        let _ = (x, rows, w, inputs, outputs, y);
        false
    }

    /// A kernel for one vector width: `$lanes` floats a register, through
    /// the named intrinsics, compiled for `$features`.
    macro_rules! kernel {
        ($(#[$doc:meta])* $name:ident, $features:literal, $lanes:literal,
         $zero:ident, $load:ident, $fmadd:ident, $reduce:path) => {
            $(#[$doc])*
            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = $features)]
            unsafe fn $name(
                x: &[f32],
                rows: usize,
                w: &[f32],
                k: usize,
                outputs: usize,
                y: &mut [f32],
            ) {
                use std::arch::x86_64::*;
                assert!(x.len() >= rows * k && w.len() >= outputs * k && y.len() >= rows * outputs);
                let dot = |a: *const f32, b: *const f32| {
                    let mut acc = $zero();
                    for c in (0..k).step_by($lanes) {
                        acc = $fmadd($load(a.add(c)), $load(b.add(c)), acc);
                    }
                    $reduce(acc)
                };
                let (xp, wp) = (x.as_ptr(), w.as_ptr());
                let mut o = 0;
                // Two weight rows by four input rows: eight sums from six loads a step.
                while o + 2 <= outputs {
                    let (w0, w1) = (wp.add(o * k), wp.add((o + 1) * k));
                    let mut r = 0;
                    while r + 4 <= rows {
                        let xs = [
                            xp.add(r * k),
                            xp.add((r + 1) * k),
                            xp.add((r + 2) * k),
                            xp.add((r + 3) * k),
                        ];
                        let mut acc = [$zero(); 8];
                        for c in (0..k).step_by($lanes) {
                            let a = $load(w0.add(c));
                            let b = $load(w1.add(c));
                            for (i, xr) in xs.iter().enumerate() {
                                let v = $load(xr.add(c));
                                acc[i] = $fmadd(a, v, acc[i]);
                                acc[4 + i] = $fmadd(b, v, acc[4 + i]);
                            }
                        }
                        for i in 0..4 {
                            y[(r + i) * outputs + o] = $reduce(acc[i]);
                            y[(r + i) * outputs + o + 1] = $reduce(acc[4 + i]);
                        }
                        r += 4;
                    }
                    for r in r..rows {
                        y[r * outputs + o] = dot(xp.add(r * k), w0);
                        y[r * outputs + o + 1] = dot(xp.add(r * k), w1);
                    }
                    o += 2;
                }
                for o in o..outputs {
                    for r in 0..rows {
                        y[r * outputs + o] = dot(xp.add(r * k), wp.add(o * k));
                    }
                }
            }
        };
    }

    kernel!(
        avx2,
        "avx2,fma",
        8,
        _mm256_setzero_ps,
        _mm256_loadu_ps,
        _mm256_fmadd_ps,
        sum
    );
    kernel!(
        /// Sixteen lanes: half the instructions of [`avx2`] for the same sums.
        avx512,
        "avx512f",
        16,
        _mm512_setzero_ps,
        _mm512_loadu_ps,
        _mm512_fmadd_ps,
        _mm512_reduce_add_ps
    );

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn sum(v: std::arch::x86_64::__m256) -> f32 {
        use std::arch::x86_64::*;
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_hadd_ps(s, s);
        _mm_cvtss_f32(_mm_hadd_ps(s, s))
    }

    #[cfg(test)]
    mod tests {
        /// Each kernel the CPU can run agrees with the plain product.
        #[test]
        fn agrees_with_the_plain_product() {
            let (rows, k, outputs) = (7, 32, 5);
            let x: Vec<f32> = (0..rows * k).map(|i| ((i * 7) % 13) as f32 - 6.0).collect();
            let w: Vec<f32> = (0..outputs * k)
                .map(|i| ((i * 5) % 11) as f32 * 0.5 - 2.0)
                .collect();
            let check = |y: &[f32]| {
                for r in 0..rows {
                    for o in 0..outputs {
                        let want: f32 = (0..k).map(|i| x[r * k + i] * w[o * k + i]).sum();
                        assert!((y[r * outputs + o] - want).abs() < 1e-3, "{r},{o}");
                    }
                }
            };
            let mut y = vec![0.0; rows * outputs];
            if super::product(&x, rows, &w, k, outputs, &mut y) {
                check(&y);
            }
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    let mut y = vec![0.0; rows * outputs];
                    // SAFETY: AVX2 and FMA checked just above.
                    unsafe { super::avx2(&x, rows, &w, k, outputs, &mut y) };
                    check(&y);
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    let mut y = vec![0.0; rows * outputs];
                    // SAFETY: AVX-512F checked just above.
                    unsafe { super::avx512(&x, rows, &w, k, outputs, &mut y) };
                    check(&y);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn gelu_agrees_with_the_library_erf() {
        for i in -800..=800 {
            let x = i as f32 / 100.0;
            let exact = 0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2));
            assert!((super::gelu(x) - exact).abs() < 1e-6, "{x}");
        }
    }
}
