//! A BERT encoder's forward pass on the CPU: the sentence-transformers
//! models (all-MiniLM-L6-v2 and its kin) are small enough that a
//! hand-written pass is fast, with the layers' products on the CPU's vector
//! units ([`banded`]) or through `matrixmultiply` where it has none suited,
//! and it keeps the build light (no tensor framework).
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
    weight: Weight,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
}

/// A layer's weight matrix, rearranged once at load from PyTorch's
/// `[out][in]`.
enum Weight {
    /// For the CPU's own kernel ([`banded`]), in the precision the model
    /// file holds.
    Banded(banded::Kernel, banded::Weights),
    /// `[in][out]` in f32, for the general matrix product, where the CPU has
    /// no kernel or the outputs make no whole number of bands.
    Plain(Vec<f32>),
}

impl Linear {
    /// The layers `names`, each of `inputs` to `outputs`, as one layer to
    /// `names.len() × outputs` (query, key and value are one product); its
    /// weight in bands where `kernel` can take them.
    fn load(
        tensors: &Tensors,
        names: &[&str],
        inputs: usize,
        outputs: usize,
        kernel: Option<banded::Kernel>,
    ) -> Result<Linear, String> {
        let weight = |name: &str| format!("{name}.weight");
        let mut bias = Vec::with_capacity(names.len() * outputs);
        for name in names {
            bias.extend(tensors.f32(&format!("{name}.bias"), &[outputs])?);
        }
        let total = names.len() * outputs;
        let floats = || -> Result<Vec<f32>, String> {
            let mut rows = Vec::with_capacity(total * inputs);
            for name in names {
                rows.extend(tensors.f32(&weight(name), &[outputs, inputs])?);
            }
            Ok(rows)
        };
        let weight = match kernel.filter(|_| total.is_multiple_of(banded::BAND)) {
            // Half precision stays half: widened in the kernel, exactly, it
            // is half the memory to read.
            Some(kernel)
                if names
                    .iter()
                    .all(|n| tensors.dtype(&weight(n)) == Some("F16")) =>
            {
                let mut rows = Vec::with_capacity(total * inputs);
                for name in names {
                    rows.extend(tensors.f16(&weight(name), &[outputs, inputs])?);
                }
                let bands = banded::arrange(&rows, inputs);
                Weight::Banded(kernel, banded::Weights::Halves(bands))
            }
            Some(kernel) => {
                let bands = banded::arrange(&floats()?, inputs);
                Weight::Banded(kernel, banded::Weights::Floats(bands))
            }
            None => {
                let rows = floats()?;
                let mut plain = vec![0.0; rows.len()];
                for (o, row) in rows.chunks_exact(inputs).enumerate() {
                    for (i, v) in row.iter().enumerate() {
                        plain[i * total + o] = *v;
                    }
                }
                Weight::Plain(plain)
            }
        };
        Ok(Linear {
            weight,
            bias,
            inputs,
            outputs: total,
        })
    }

    /// `y = x Wᵀ + b` for `rows` rows of `x`.
    fn apply(&self, x: &[f32], rows: usize, y: &mut Vec<f32>) {
        let (k, outputs) = (self.inputs, self.outputs);
        assert_eq!(x.len(), rows * k);
        y.clear();
        y.resize(rows * outputs, 0.0);
        match &self.weight {
            Weight::Banded(kernel, weights) => {
                banded::product(*kernel, x, rows, weights, k, outputs, y)
            }
            Weight::Plain(w) => {
                assert_eq!(w.len(), k * outputs);
                // SAFETY: the asserted lengths cover every index sgemm reads
                // or writes: x is rows×k, the weight k×outputs and y
                // rows×outputs, all row-major.
                unsafe {
                    matrixmultiply::sgemm(
                        rows,
                        k,
                        outputs,
                        1.0,
                        x.as_ptr(),
                        k as isize,
                        1,
                        w.as_ptr(),
                        outputs as isize,
                        1,
                        0.0,
                        y.as_mut_ptr(),
                        outputs as isize,
                        1,
                    );
                }
            }
        }
        for row in y.chunks_exact_mut(outputs) {
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
    /// Pool the first token (`[CLS]`) rather than the mean of all.
    pub first_token: bool,
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
        Bert::with_kernel(config, bytes, banded::Kernel::detect())
    }

    /// [`Bert::from_safetensors`], its products on `kernel` (`None`: the
    /// general matrix product).
    fn with_kernel(
        config: BertConfig,
        bytes: &[u8],
        kernel: Option<banded::Kernel>,
    ) -> Result<Bert, String> {
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
        let linear = |name: &str, inputs: usize, outputs: usize| {
            Linear::load(&tensors, &[name], inputs, outputs, kernel)
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
            let qkv = ["query", "key", "value"].map(|p| at(&format!("attention.self.{p}")));
            layers.push(Layer {
                qkv: Linear::load(
                    &tensors,
                    &qkv.each_ref().map(String::as_str),
                    hidden,
                    hidden,
                    kernel,
                )?,
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
            first_token: false,
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
    /// their tokens stacked without padding, so that each weight matrix is
    /// brought into the cache once for all of them; only attention is done
    /// text by text.
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
            gelu_all(&mut s.wide);
            layer.output.apply(&s.wide, rows, &mut s.tmp);
            add(&mut s.x, &s.tmp);
            layer.output_norm.apply(&mut s.x);
        }
        spans
            .iter()
            .map(|&(start, n)| {
                let mut pooled = vec![0.0f32; h];
                let pooled_rows = if self.first_token { n.min(1) } else { n };
                for row in s.x[start * h..(start + pooled_rows) * h].chunks_exact(h) {
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
#[inline]
fn gelu(x: f32) -> f32 {
    let z = (x * std::f32::consts::FRAC_1_SQRT_2).abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let erf = 1.0 - poly * exp_negative(-z * z);
    0.5 * x * (1.0 + erf.copysign(x))
}

/// `eˣ` for `x ≤ 0`, within a unit in the last place of the library's
/// (Cephes' `expf`: `x = n ln 2 + r`, a polynomial for `eʳ`, `2ⁿ` put into
/// the exponent's bits), and, unlike a call to the library, arithmetic the
/// compiler can run on whole vectors of values.
#[inline]
fn exp_negative(x: f32) -> f32 {
    // Below this e^x is under f32's smallest normal number: GELU reads 0.
    let x = x.max(-87.0);
    // 1.5 × 2²³: adding it rounds to an integer, kept in the low bits.
    const ROUND: f32 = 12_582_912.0;
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_2e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 0.166_666_65)
        * r
        + 0.5;
    let e = p * r * r + r + 1.0;
    // n is in -126..=0: its low nine bits plus the bias are 2ⁿ's exponent.
    let two_n = f32::from_bits(shifted.to_bits().wrapping_add(127) << 23);
    e * two_n
}

/// [`gelu`] of every value of `xs`, in place, compiled for the widest
/// vectors the CPU has.
fn gelu_all(xs: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        fn wide(xs: &mut [f32]) {
            xs.iter_mut().for_each(|v| *v = gelu(*v));
        }
        #[target_feature(enable = "avx2,fma")]
        fn narrow(xs: &mut [f32]) {
            xs.iter_mut().for_each(|v| *v = gelu(*v));
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above).
            return unsafe { wide(xs) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA (checked just above).
            return unsafe { narrow(xs) };
        }
    }
    xs.iter_mut().for_each(|v| *v = gelu(*v));
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
            // Into a buffer of the final size, as plain bits: a copy the
            // compiler can make wide, where collecting f16s went one by one.
            let mut out = vec![f16::ZERO; bytes.len() / 2];
            let bits: &mut [u16] =
                half::slice::HalfFloatSliceExt::reinterpret_cast_mut(&mut out[..]);
            for (v, b) in bits.iter_mut().zip(bytes.chunks_exact(2)) {
                *v = u16::from_le_bytes([b[0], b[1]]);
            }
            return Ok(out);
        }
        let wide = self.values(name)?;
        let mut out = vec![f16::ZERO; wide.len()];
        half::slice::HalfFloatSliceExt::convert_from_f32_slice(out.as_mut_slice(), &wide);
        Ok(out)
    }

    fn dtype(&self, name: &str) -> Option<&str> {
        self.entries.get(name).map(|e| e.dtype.as_str())
    }

    fn check_shape(&self, name: &str, shape: &[usize]) -> Result<(), String> {
        let shape_found = &self.entries.get(name).map(|e| e.shape.clone());
        if shape_found.as_deref().is_some_and(|s| s != shape) {
            return Err(format!(
                "{name} has shape {shape_found:?}, expected {shape:?}"
            ));
        }
        Ok(())
    }

    fn f32(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
        self.check_shape(name, shape)?;
        self.values(name)
    }

    fn f16(&self, name: &str, shape: &[usize]) -> Result<Vec<f16>, String> {
        self.check_shape(name, shape)?;
        self.halves(name)
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

/// Matrix products `x Wᵀ` on the CPU's vector units, from weights arranged
/// in bands of [`BAND`] output columns. A general matrix product copies the
/// weight matrix into its own layout on every call, which for a question's
/// dozen rows costs more than the arithmetic. Here a block of rows of `x` is
/// multiplied with a band at once: each step reads the next few vectors of
/// the band, in memory order, and one number of each row of `x`, and adds
/// their products into sums that stay in registers to the end. No sum is
/// reduced across lanes and no multiply-add waits for the one before it, so
/// the arithmetic runs near the CPU's peak and each row of `x` comes out the
/// same whatever rows it is computed with.
mod banded {
    use half::f16;

    /// Output columns in a band: whole vectors of either width (3 × 16 and
    /// 6 × 8 floats).
    pub const BAND: usize = 48;

    /// The vector instructions the products run on.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Kernel {
        Avx512,
        Avx2,
    }

    impl Kernel {
        /// The widest this CPU has, if any.
        pub fn detect() -> Option<Kernel> {
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx512f") {
                    return Some(Kernel::Avx512);
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                    && std::arch::is_x86_feature_detected!("f16c")
                {
                    return Some(Kernel::Avx2);
                }
            }
            None
        }
    }

    /// A weight matrix in bands: band `b` holds output columns `b × BAND ..
    /// (b + 1) × BAND`, as `[in][BAND]`.
    pub enum Weights {
        Floats(Vec<f32>),
        Halves(Vec<f16>),
    }

    /// PyTorch's `[out][in]` weight (`inputs` wide), its outputs a multiple
    /// of [`BAND`], in bands.
    pub fn arrange<T: Copy + Default>(weight: &[T], inputs: usize) -> Vec<T> {
        let mut bands = vec![T::default(); weight.len()];
        for (o, row) in weight.chunks_exact(inputs).enumerate() {
            let (b, column) = (o / BAND, o % BAND);
            for (i, v) in row.iter().enumerate() {
                bands[b * inputs * BAND + i * BAND + column] = *v;
            }
        }
        bands
    }

    /// Writes `x Wᵀ` into `y`: `x` is `rows` × `inputs`, `y` `rows` ×
    /// `outputs`, `w` the weight in bands.
    pub fn product(
        kernel: Kernel,
        x: &[f32],
        rows: usize,
        w: &Weights,
        inputs: usize,
        outputs: usize,
        y: &mut [f32],
    ) {
        let weights = match w {
            Weights::Floats(w) => w.len(),
            Weights::Halves(w) => w.len(),
        };
        assert!(x.len() >= rows * inputs && y.len() >= rows * outputs);
        assert!(weights == inputs * outputs && outputs.is_multiple_of(BAND));
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `kernel` was detected on this CPU; the lengths are
        // asserted just above.
        unsafe {
            match (kernel, w) {
                (Kernel::Avx512, Weights::Floats(w)) => {
                    avx512::product(x, rows, w, inputs, outputs, y)
                }
                (Kernel::Avx512, Weights::Halves(w)) => {
                    avx512_halves::product(x, rows, w, inputs, outputs, y)
                }
                (Kernel::Avx2, Weights::Floats(w)) => avx2::product(x, rows, w, inputs, outputs, y),
                (Kernel::Avx2, Weights::Halves(w)) => {
                    avx2_halves::product(x, rows, w, inputs, outputs, y)
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        match kernel {}
    }

    /// The kernel for one vector width and weight type: `$lanes` floats a
    /// register, compiled for `$features`; blocks of `$rows` rows by
    /// `$vectors` vectors of a band (as many sums as the registers hold
    /// beside the weight vectors), the weights read by `load`.
    macro_rules! kernel {
        ($module:ident, $features:literal, $lanes:literal, $rows:tt, $vectors:literal,
         $weight:ty, $vector:ty, $zero:ident, $store:ident, $splat:ident, $fmadd:ident,
         $load:expr) => {
            #[cfg(target_arch = "x86_64")]
            mod $module {
                use std::arch::x86_64::*;

                /// A vector of weights from `p`.
                #[target_feature(enable = $features)]
                #[inline]
                unsafe fn load(p: *const $weight) -> $vector {
                    $load(p)
                }

                /// Rows `r..r + R` of `x` times `V` vectors of a band's
                /// columns from `w` (the band's first row at those columns,
                /// `BAND` values to the next), written into `y` from
                /// column `o`.
                ///
                /// # Safety
                /// The CPU has `$features`; `x` holds rows `r..r + R` of `k`
                /// inputs, `w` `k` rows of `V × $lanes` values `BAND` apart,
                /// `y` rows `r..r + R` of `outputs`, and `o + V × $lanes <=
                /// outputs`.
                #[target_feature(enable = $features)]
                #[allow(clippy::too_many_arguments)]
                unsafe fn block<const R: usize, const V: usize>(
                    x: *const f32,
                    r: usize,
                    k: usize,
                    w: *const $weight,
                    y: *mut f32,
                    outputs: usize,
                    o: usize,
                ) {
                    let mut sums = [[$zero(); V]; R];
                    let mut weights = [$zero(); V];
                    for c in 0..k {
                        let row = w.add(c * super::BAND);
                        for (v, weight) in weights.iter_mut().enumerate() {
                            *weight = load(row.add(v * $lanes));
                        }
                        for (i, sum) in sums.iter_mut().enumerate() {
                            let xs = $splat(*x.add((r + i) * k + c));
                            for (s, weight) in sum.iter_mut().zip(&weights) {
                                *s = $fmadd(xs, *weight, *s);
                            }
                        }
                    }
                    for (i, sum) in sums.iter().enumerate() {
                        for (v, s) in sum.iter().enumerate() {
                            $store(y.add((r + i) * outputs + o + v * $lanes), *s);
                        }
                    }
                }

                /// `x Wᵀ` band by band, the rows left over after the whole
                /// blocks in one smaller block.
                ///
                /// # Safety
                /// The CPU has `$features`; the lengths are
                /// [`super::product`]'s asserted ones.
                #[target_feature(enable = $features)]
                pub unsafe fn product(
                    x: &[f32],
                    rows: usize,
                    w: &[$weight],
                    k: usize,
                    outputs: usize,
                    y: &mut [f32],
                ) {
                    const WIDE: usize = $vectors * $lanes;
                    let (x, w, y) = (x.as_ptr(), w.as_ptr(), y.as_mut_ptr());
                    for b in 0..outputs / super::BAND {
                        for column in (0..super::BAND).step_by(WIDE) {
                            let (w, o) = (w.add(b * k * super::BAND + column), b * super::BAND + column);
                            let mut r = 0;
                            while r < rows {
                                let n = (rows - r).min($rows);
                                macro_rules! go {
                                    ($n:literal) => {
                                        block::<$n, $vectors>(x, r, k, w, y, outputs, o)
                                    };
                                }
                                kernel!(@rows n, go, $rows);
                                r += n;
                            }
                        }
                    }
                }
            }
        };
        (@rows $n:ident, $go:ident, 4) => {
            match $n {
                1 => $go!(1),
                2 => $go!(2),
                3 => $go!(3),
                _ => $go!(4),
            }
        };
        (@rows $n:ident, $go:ident, 8) => {
            match $n {
                1 => $go!(1),
                2 => $go!(2),
                3 => $go!(3),
                4 => $go!(4),
                5 => $go!(5),
                6 => $go!(6),
                7 => $go!(7),
                _ => $go!(8),
            }
        };
    }

    // Thirty-two registers: 8 × 3 sums and 3 weight vectors.
    kernel!(
        avx512,
        "avx512f",
        16,
        8,
        3,
        f32,
        __m512,
        _mm512_setzero_ps,
        _mm512_storeu_ps,
        _mm512_set1_ps,
        _mm512_fmadd_ps,
        |p: *const f32| _mm512_loadu_ps(p)
    );
    kernel!(
        avx512_halves,
        "avx512f",
        16,
        8,
        3,
        half::f16,
        __m512,
        _mm512_setzero_ps,
        _mm512_storeu_ps,
        _mm512_set1_ps,
        _mm512_fmadd_ps,
        |p: *const half::f16| _mm512_cvtph_ps(_mm256_loadu_si256(p.cast()))
    );
    // Sixteen registers: 4 × 3 sums and 3 weight vectors.
    kernel!(
        avx2,
        "avx2,fma,f16c",
        8,
        4,
        3,
        f32,
        __m256,
        _mm256_setzero_ps,
        _mm256_storeu_ps,
        _mm256_set1_ps,
        _mm256_fmadd_ps,
        |p: *const f32| _mm256_loadu_ps(p)
    );
    kernel!(
        avx2_halves,
        "avx2,fma,f16c",
        8,
        4,
        3,
        half::f16,
        __m256,
        _mm256_setzero_ps,
        _mm256_storeu_ps,
        _mm256_set1_ps,
        _mm256_fmadd_ps,
        |p: *const half::f16| _mm256_cvtph_ps(_mm_loadu_si128(p.cast()))
    );

    #[cfg(test)]
    mod tests {
        use super::*;

        /// Every kernel the CPU can run, on either weight type, agrees with
        /// the plain product, on row counts that leave a block over.
        #[test]
        fn agrees_with_the_plain_product() {
            let kernels = match Kernel::detect() {
                Some(Kernel::Avx512) => vec![Kernel::Avx512, Kernel::Avx2],
                Some(Kernel::Avx2) => vec![Kernel::Avx2],
                None => vec![],
            };
            for (rows, k, outputs) in [
                (7, 32, BAND),
                (1, 24, 2 * BAND),
                (13, 40, BAND),
                (50, 16, 3 * BAND),
            ] {
                let x: Vec<f32> = (0..rows * k).map(|i| ((i * 7) % 13) as f32 - 6.0).collect();
                // [out][in], values exact in half precision.
                let w: Vec<f32> = (0..outputs * k)
                    .map(|i| ((i * 5) % 11) as f32 * 0.5 - 2.0)
                    .collect();
                let halves: Vec<f16> = w.iter().map(|v| f16::from_f32(*v)).collect();
                for &kernel in &kernels {
                    for weights in [
                        Weights::Floats(arrange(&w, k)),
                        Weights::Halves(arrange(&halves, k)),
                    ] {
                        let mut y = vec![0.0; rows * outputs];
                        product(kernel, &x, rows, &weights, k, outputs, &mut y);
                        for r in 0..rows {
                            for o in 0..outputs {
                                let want: f32 = (0..k).map(|i| x[r * k + i] * w[o * k + i]).sum();
                                let got = y[r * outputs + o];
                                assert!(
                                    (got - want).abs() < 1e-3,
                                    "{kernel:?} {rows}×{k}×{outputs} at {r},{o}: {got} ≠ {want}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped model's encoder, its products on `kernel`.
    fn shipped(kernel: Option<banded::Kernel>) -> Bert {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/all-MiniLM-L6-v2");
        let read = |name: &str| std::fs::read(dir.join(name)).expect("the shipped model");
        let config = serde_json::from_slice(&read("config.json")).expect("its config");
        Bert::with_kernel(config, &read("model.safetensors"), kernel).expect("it loads")
    }

    // A CPU without the vector kernels (or a model whose layers make no
    // whole bands) takes the general product: it must mean the same.
    #[test]
    fn the_general_product_and_the_cpus_kernel_give_the_same_vectors() {
        let Some(kernel) = banded::Kernel::detect() else {
            return;
        };
        let (general, fast) = (shipped(None), shipped(Some(kernel)));
        let texts: [&[u32]; 3] = [
            &[101, 102],
            &[101, 2129, 2172, 2515, 2009, 3465, 1029, 102],
            &[
                101, 2129, 2172, 2515, 2009, 3465, 1029, 1006, 1043, 2135, 3762, 2527, 1010, 4295,
                1010, 7438, 1007, 102,
            ],
        ];
        let (mut s, mut t) = (Scratch::default(), Scratch::default());
        for (a, b) in general
            .embed(&texts, &mut s)
            .iter()
            .zip(fast.embed(&texts, &mut t))
        {
            let cosine: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
            assert!(cosine > 0.99999, "{cosine}");
        }
    }

    #[test]
    fn exp_agrees_with_the_library() {
        for i in 0..=87_000 {
            let x = -(i as f32) / 1000.0;
            let (got, want) = (exp_negative(x), x.exp());
            assert!((got - want).abs() <= 2.5e-7 * want, "{x}: {got} ≠ {want}");
        }
        assert_eq!(exp_negative(-1000.0), (-87.0f32).exp());
    }

    #[test]
    fn gelu_agrees_with_the_library_erf() {
        for i in -800..=800 {
            let x = i as f32 / 100.0;
            let exact = 0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2));
            assert!((super::gelu(x) - exact).abs() < 1e-6, "{x}");
        }
    }
}
