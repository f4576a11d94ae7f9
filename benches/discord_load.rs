//! Load on the bot: 300 `/ask` injected through the fake Discord with 30 in
//! flight, then 300 three-turn conversations (an `/ask` and two follow-ups
//! in its thread), 30 in flight; prints p50/p99 from injection to the
//! answer arriving at the fake, and how many never arrived. Run with
//! `cargo bench --bench discord_load`. With `CITEBOT_LOAD_BINARY` set to a
//! built `citebot`, the bot is that binary's `citebot serve` in a process of
//! its own (its index built beforehand by its `citebot index`), and the bench
//! also prints the peak RSS of the serving process alone.

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
use fake_discord::{ask_interaction, user_message, FakeDiscord};

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
    config.discord.feedback_log = dir.path().join("feedback.jsonl");
    let bot = match std::env::var_os("CITEBOT_LOAD_BINARY") {
        Some(binary) => Bot::Process(serve_process(&binary, &fake, dir.path(), &config)),
        None => {
            let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
            let options = ServeOptions {
                token: Token::new("load-token"),
                api_base: Some(fake.base.clone()),
                corpus: dir.path().join("corpus"),
                index: dir.path().join("index"),
                config,
                shards: None,
            };
            let task = tokio::spawn(serve(options, async move {
                let _ = stop_rx.await;
            }));
            Bot::InProcess(stop_tx, task)
        }
    };
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
    report("/ask", TOTAL, &mut latencies, elapsed);
    conversations(&fake).await;
    match bot {
        Bot::InProcess(stop_tx, task) => {
            let _ = stop_tx.send(());
            let _ = tokio::time::timeout(Duration::from_secs(20), task).await;
        }
        Bot::Process(mut child) => {
            // VmHWM: the process's peak resident set, read before it exits.
            let status =
                std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
            let peak = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .map_or("unknown".to_string(), |kb| kb.trim().to_string());
            println!("discord_load: citebot serve peak RSS {peak}");
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
    }
}

/// The bot under load: `serve` in this process, or a `citebot serve` process.
enum Bot {
    InProcess(
        tokio::sync::oneshot::Sender<()>,
        tokio::task::JoinHandle<anyhow::Result<()>>,
    ),
    Process(std::process::Child),
}

/// Builds the index with `binary index`, then starts `binary serve` on the
/// fake Discord, with the bench's settings in a configuration file.
fn serve_process(
    binary: &std::ffi::OsStr,
    fake: &FakeDiscord,
    dir: &std::path::Path,
    config: &Config,
) -> std::process::Child {
    let file = dir.join("citebot.toml");
    std::fs::write(
        &file,
        format!(
            "[discord]\ncooldown_secs = {}\nfeedback_log = {:?}\n",
            config.discord.cooldown_secs, config.discord.feedback_log
        ),
    )
    .expect("write the configuration");
    let command = |args: &[&str]| {
        let mut command = std::process::Command::new(binary);
        command
            .args(args)
            .current_dir(dir)
            .env("CITEBOT_CONFIG", &file)
            .env_remove("CITEBOT_CORPUS")
            .env_remove("CITEBOT_INDEX")
            .stdout(std::process::Stdio::null());
        command
    };
    let built = command(&["index"]).status().expect("citebot index runs");
    assert!(built.success(), "citebot index failed");
    command(&["serve"])
        .env("DISCORD_TOKEN", "load-token")
        .env("DISCORD_API_BASE", &fake.base)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .spawn()
        .expect("citebot serve starts")
}

fn report(what: &str, total: usize, latencies: &mut [Duration], elapsed: Duration) {
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "discord_load: {} {what}, {} in flight: answered {}, never arrived {}, p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {:.0} answers/s",
        total,
        IN_FLIGHT,
        latencies.len(),
        total - latencies.len(),
        pct(0.50),
        pct(0.99),
        pct(1.0),
        latencies.len() as f64 / elapsed.as_secs_f64()
    );
}

/// Three-turn conversations: an `/ask`, then two follow-ups written in the
/// thread of its answer (issue 23).
const CONVERSATIONS: &[[&str; 3]] = &[
    [
        "what is strimvelis?",
        "how much does it cost?",
        "when was it approved?",
    ],
    [
        "what is glybera",
        "why was it withdrawn?",
        "how much did it cost?",
    ],
    [
        "what are AAV vectors",
        "why can they only be injected once?",
        "how do researchers get around that?",
    ],
];

/// One conversation under way: its `/ask` id, the thread its answer
/// started, the turn awaited and when it was sent.
struct Under {
    lines: &'static [&'static str; 3],
    ask: String,
    thread: Option<String>,
    turn: usize,
    sent: Instant,
}

async fn conversations(fake: &FakeDiscord) {
    let mut latencies: Vec<Duration> = Vec::new();
    let mut under: Vec<Under> = Vec::new();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(120);
    let (mut next, mut finished) = (0, 0);
    while finished < TOTAL && Instant::now() < deadline {
        let requests = fake.requests();
        let mut still = Vec::with_capacity(under.len());
        for mut c in under.drain(..) {
            let lines = c.lines;
            let arrived = match &c.thread {
                // The answer, and the thread started on it (as a person
                // would, the follow-up is written once the thread is there).
                None => requests
                    .iter()
                    .find(|r| {
                        r.method == "PATCH"
                            && r.status == 200
                            && r.path.contains(&format!("interaction-token-{}/", c.ask))
                    })
                    .filter(|answer| {
                        let started = format!(
                            "/messages/{}/threads",
                            answer.response["id"].as_str().unwrap_or("-")
                        );
                        requests.iter().any(|r| r.path.ends_with(&started))
                    }),
                Some(thread) => requests
                    .iter()
                    .filter(|r| {
                        r.method == "POST"
                            && r.path.ends_with(&format!("/channels/{thread}/messages"))
                    })
                    .nth(c.turn - 1),
            };
            let Some(arrived) = arrived else {
                still.push(c);
                continue;
            };
            latencies.push(arrived.at.duration_since(c.sent));
            if c.thread.is_none() {
                c.thread = arrived.response["id"].as_str().map(str::to_string);
            }
            c.turn += 1;
            match (&c.thread, lines.get(c.turn)) {
                (Some(thread), Some(line)) => {
                    let id = fake.new_id();
                    fake.dispatch(
                        0,
                        "MESSAGE_CREATE",
                        user_message(&id, thread, "501", line, false, None),
                    );
                    c.sent = Instant::now();
                    still.push(c);
                }
                _ => finished += 1,
            }
        }
        under = still;
        while under.len() < IN_FLIGHT && next < TOTAL {
            let id = fake.new_id();
            let lines = &CONVERSATIONS[next % CONVERSATIONS.len()];
            fake.dispatch(
                0,
                "INTERACTION_CREATE",
                ask_interaction(&id, &format!("{}", 900 + next), lines[0], false),
            );
            under.push(Under {
                lines,
                ask: id,
                thread: None,
                turn: 0,
                sent: Instant::now(),
            });
            next += 1;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    report(
        "conversation turns (300 conversations of 3)",
        TOTAL * 3,
        &mut latencies,
        started.elapsed(),
    );
}
