//! Sentence embeddings on their own: each line of standard input becomes a
//! vector of the shipped model, printed as a JSON line with its token ids.
//! The project's check of its tokenizer and encoder against the Python
//! libraries (`scripts/check-embeddings.py`) reads this output.
//!
//!     cargo run --release --example embed < lines.txt > vectors.jsonl

use std::io::{self, BufRead, Write};

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "models/all-MiniLM-L6-v2".into());
    let model = citebot::embed::Model::load(dir.as_ref())?;
    let mut out = io::stdout().lock();
    for line in io::stdin().lock().lines() {
        let line = line?;
        let record = serde_json::json!({
            "text": line,
            "ids": model.tokens(&line),
            "vector": model.encode(&line),
        });
        writeln!(out, "{record}")?;
    }
    Ok(())
}
