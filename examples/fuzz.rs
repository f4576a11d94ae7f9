//! A mutation fuzzer that runs on stable Rust, for the places that take
//! arbitrary input: question analysis and query building (`question`),
//! Markdown and text parsing and splitting (`corpus`), and the HTML and PDF
//! readers (`html`, `pdf`).
//!
//! ```sh
//! cargo run --release --example fuzz -- question 600
//! cargo run --release --example fuzz -- corpus 600
//! cargo run --release --example fuzz -- html 600
//! cargo run --release --example fuzz -- pdf 600
//! ```
//!
//! Inputs start from seeds (the dev questions, the corpus, the HTML and PDF
//! files of `tests/formats/`), are mutated with byte flips, splices and
//! inserted syntax, and every panic is saved under `tests/fuzz_regressions/`
//! where `cargo test` replays it.

use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::time::{Duration, Instant};

use citebot::config::SearchConfig;
use citebot::index::{self, Index};
use citebot::search::Engine;

#[path = "../tests/fuzz_checks/mod.rs"]
mod fuzz_checks;
use fuzz_checks::{check_corpus, check_html, check_pdf, check_question};

/// Small, fast, deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "\"",
    "(",
    ")",
    "*",
    ":",
    "~2",
    "^3",
    "AND",
    "OR",
    "NOT",
    "[",
    " TO ",
    "]",
    "\\",
    "-",
    "+",
    "%",
    "'s",
    "’",
    "é",
    "β",
    "\u{200b}",
    "\u{202e}",
    "🧬",
    "\n",
    "\r",
    "\t",
    "\0",
    "#",
    "##",
    "- ",
    "> Figure:",
    "|",
    "<div>",
    "</div>",
    "`",
    "```",
    "---\n",
    "CAR-T",
    "AAV9",
    "CD34+",
    "1989-2017",
    "ﬁ",
    "İ",
    "ß",
    "\u{301}",
];

fn mutate(rng: &mut Rng, seed: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seed.to_vec();
    for _ in 0..1 + rng.below(8) {
        match rng.below(6) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 => {
                let i = rng.below(data.len() + 1);
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                data.splice(i..i, t.iter().copied());
            }
            2 if !data.is_empty() => {
                let a = rng.below(data.len());
                let b = (a + rng.below(64)).min(data.len());
                data.drain(a..b);
            }
            3 => {
                let other = &seeds[rng.below(seeds.len())];
                if !other.is_empty() {
                    let a = rng.below(other.len());
                    let b = (a + rng.below(200)).min(other.len());
                    let i = rng.below(data.len() + 1);
                    data.splice(i..i, other[a..b].iter().copied());
                }
            }
            4 if !data.is_empty() && data.len() < 50_000 => {
                let a = rng.below(data.len());
                let b = (a + rng.below(32)).min(data.len());
                let piece = data[a..b].to_vec();
                for _ in 0..rng.below(50) {
                    data.extend_from_slice(&piece);
                }
            }
            _ => {
                let i = rng.below(data.len() + 1);
                let c = char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('\u{fffd}');
                let mut buf = [0u8; 4];
                data.splice(i..i, c.encode_utf8(&mut buf).bytes());
            }
        }
    }
    data
}

fn main() {
    let mut args = std::env::args().skip(1);
    let target = args.next().unwrap_or_else(|| "question".into());
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(60);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out_dir = root.join("tests/fuzz_regressions");

    let mut seeds: Vec<Vec<u8>> = Vec::new();
    if let Ok(text) = std::fs::read_to_string(root.join("../shared/eval/dev-questions.jsonl")) {
        for line in text.lines() {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
                if let Some(q) = v["question"].as_str() {
                    seeds.push(q.as_bytes().to_vec());
                }
            }
        }
    }
    let article = std::fs::read(root.join("corpus/gene-therapy.md")).unwrap_or_default();
    for chunk in article.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        seeds.push(chunk.to_vec());
    }
    seeds.push(article);
    // The reader's own formats: whole files to mutate, and for HTML its pieces.
    let extension = match target.as_str() {
        "html" => Some("html"),
        "pdf" => Some("pdf"),
        _ => None,
    };
    if extension == Some("pdf") {
        // Text seeds only reach the reader's first check: mutate real PDFs.
        seeds.clear();
    }
    if let (Some(extension), Ok(entries)) =
        (extension, std::fs::read_dir(root.join("tests/formats")))
    {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == extension) {
                let bytes = std::fs::read(&path).unwrap_or_default();
                if extension == "html" {
                    for chunk in bytes.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                        seeds.push(chunk.to_vec());
                    }
                }
                seeds.push(bytes);
            }
        }
    }

    let scratch = std::env::temp_dir().join(format!("citebot-fuzz-{}", std::process::id()));
    let engine = if target == "question" {
        let index_dir = scratch.join("index");
        index::build(&root.join("corpus"), &index_dir).expect("build the index");
        Some(Engine::new(
            Index::open(&index_dir).expect("open"),
            SearchConfig::default(),
            None,
        ))
    } else {
        None
    };

    panic::set_hook(Box::new(|_| {}));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id()));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut runs, mut crashes) = (0u64, 0u64);
    while Instant::now() < deadline {
        let seed = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed, &seeds);
        let result = panic::catch_unwind(AssertUnwindSafe(|| match (&engine, target.as_str()) {
            (Some(engine), _) => check_question(engine, &input),
            (None, "html") => check_html(&input),
            (None, "pdf") => check_pdf(&input),
            (None, _) => check_corpus(&input),
        }));
        runs += 1;
        if result.is_err() {
            crashes += 1;
            let _ = std::fs::create_dir_all(&out_dir);
            let name = format!("{target}-{:016x}.bin", rng.next());
            let _ = std::fs::write(out_dir.join(&name), &input);
            eprintln!("crash saved as tests/fuzz_regressions/{name}");
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    println!("fuzz {target}: {runs} inputs in {seconds} s, {crashes} crashes");
}
