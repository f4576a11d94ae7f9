//! Reader throughput: each FILE read as the index reads it (parsed into
//! blocks and split into passages), repeated for about a second, in MB/s of
//! source. `scripts/readers.sh` sets it beside well-known extractors.
//!
//! ```sh
//! cargo run --release --example read -- tests/formats/*.pdf
//! ```

use std::time::{Duration, Instant};

fn main() {
    for path in std::env::args().skip(1) {
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                eprintln!("{path}: {e}");
                continue;
            }
        };
        let started = Instant::now();
        let mut runs = 0u32;
        let mut passages = 0;
        while runs == 0 || started.elapsed() < Duration::from_secs(1) {
            match citebot::corpus::parse(&path, &bytes) {
                Ok(doc) => passages = citebot::passages::split(&doc).len(),
                Err(e) => {
                    eprintln!("{e}");
                    break;
                }
            }
            runs += 1;
        }
        let seconds = started.elapsed().as_secs_f64() / f64::from(runs.max(1));
        #[allow(clippy::cast_precision_loss)]
        let mb = bytes.len() as f64 / 1e6;
        println!(
            "{path}: {:.1} ms a read, {:.2} MB/s, {passages} passages",
            seconds * 1e3,
            mb / seconds
        );
    }
}
