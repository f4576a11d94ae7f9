//! Load on the bot: 300 `/ask` injected through the fake Discord with 30 in
//! flight; prints p50/p99 from injection to the answer arriving at the fake,
//! and how many never arrived. Run with `cargo bench --bench discord_load`.

// The bench uses a few of the test helpers.
#[path = "../tests/fake_discord/mod.rs"]
mod fake_discord;
#[allow(dead_code)]
#[path = "../tests/util/mod.rs"]
mod util;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use citebot::config::Config;
use citebot::discord::{serve, ServeOptions, Token};
use fake_discord::{ask_interaction, FakeDiscord};

// The allocator the `citebot` binary runs with, so the figures are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TOTAL: usize = 300;
const IN_FLIGHT: usize = 30;

const QUESTIONS: &[&str] = &[
    "how are AAV vectors delivered?",
    "what is exon skipping",
    "what are CAR T cells",
    "how much does glybera cost",
    "what is the price of Zolgensma",
    "Why did some early gene therapy patients develop leukemia?",
];

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run());
}

async fn run() {
    std::env::set_var("NO_PROXY", "127.0.0.1,localhost");
    let fake = FakeDiscord::start().await;
    let dir = util::workspace();
    let mut config = Config::default();
    config.discord.cooldown_secs = 0.0;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let options = ServeOptions {
        token: Token::new("load-token"),
        api_base: Some(fake.base.clone()),
        corpus: dir.path().join("corpus"),
        index: dir.path().join("index"),
        config,
        shards: None,
    };
    let bot = tokio::spawn(serve(options, async move {
        let _ = stop_rx.await;
    }));
    fake.wait_ready(1).await;
    // Let command registration settle before measuring.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let mut injected: HashMap<String, Instant> = HashMap::new();
    let mut latencies: Vec<Duration> = Vec::new();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(60);
    let mut next = 0;
    while latencies.len() < TOTAL && Instant::now() < deadline {
        let answered: Vec<(String, Instant)> = fake
            .sent("PATCH", "/messages/@original")
            .into_iter()
            .filter_map(|r| {
                let token = r
                    .path
                    .split('/')
                    .nth(5)?
                    .trim_start_matches("interaction-token-")
                    .to_string();
                Some((token, r.at))
            })
            .collect();
        for (id, at) in answered {
            if let Some(sent) = injected.remove(&id) {
                latencies.push(at.duration_since(sent));
            }
        }
        while injected.len() < IN_FLIGHT && next < TOTAL {
            let id = fake.new_id();
            let question = QUESTIONS[next % QUESTIONS.len()];
            let user = format!("{}", 500 + next);
            fake.dispatch(
                0,
                "INTERACTION_CREATE",
                ask_interaction(&id, &user, question, false),
            );
            injected.insert(id, Instant::now());
            next += 1;
        }
        if next >= TOTAL && injected.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = started.elapsed();
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(20), bot).await;

    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "discord_load: {} /ask, {} in flight: answered {}, never arrived {}, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {:.0} answers/s",
        TOTAL,
        IN_FLIGHT,
        latencies.len(),
        TOTAL - latencies.len(),
        pct(0.50),
        pct(0.99),
        pct(1.0),
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
}
