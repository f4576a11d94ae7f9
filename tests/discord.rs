//! The bot end to end: the real serenity client against the fake Discord in
//! `fake_discord/`, on 127.0.0.1 only.

mod common;
mod fake_discord;

use std::fs;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use citebot::config::Config;
use citebot::discord::{serve, ServeOptions, Shards, Token};
use fake_discord::{ask_interaction, button_interaction, mention_message, FakeDiscord, Request};
use serde_json::Value;
use tokio::sync::oneshot;

/// Everything any test's bot logged, at every level, to check for the token.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = Arc::clone(&buffer);
        let _ = tracing_subscriber::fmt()
            .with_env_filter(citebot::cli::log_filter("trace"))
            .with_writer(move || LogWriter(Arc::clone(&writer)))
            .try_init();
        buffer
    })
    .clone()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct Bot {
    fake: FakeDiscord,
    token: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    dir: tempfile::TempDir,
}

fn test_config() -> Config {
    let mut config = Config::default();
    config.discord.cooldown_secs = 0.0;
    config.discord.retry_backoff_ms = 50;
    config.discord.reload_poll_ms = 100;
    config.discord.dev_guild = Some(fake_discord::GUILD_ID.parse().unwrap());
    config
}

async fn start_bot(config: Config, shards: Option<Shards>) -> Bot {
    let logs = captured_logs();
    drop(logs);
    std::env::set_var("NO_PROXY", "127.0.0.1,localhost");
    let fake = FakeDiscord::start().await;
    let dir = common::workspace();
    let token = format!("test-token-{}", fake.new_id());
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let options = ServeOptions {
        token: Token::new(token.clone()),
        api_base: Some(fake.base.clone()),
        corpus: dir.path().join("corpus"),
        index: dir.path().join("index"),
        config,
        shards: shards.clone(),
    };
    let task = tokio::spawn(serve(options, async move {
        let _ = stop_rx.await;
    }));
    fake.wait_ready(shards.map_or(1, |s| s.range.len())).await;
    Bot {
        fake,
        token,
        stop: Some(stop_tx),
        task,
        dir,
    }
}

impl Bot {
    /// Stops the bot, checks it closed cleanly, and checks every message it sent.
    async fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let result = tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the bot stops within 20 s")
            .expect("the bot task does not panic");
        assert!(result.is_ok(), "serve returned {result:?}");
        self.fake
            .wait_for("the gateway close", Duration::from_secs(5), |f| {
                f.state
                    .closed_cleanly
                    .load(std::sync::atomic::Ordering::SeqCst)
                    > 0
            })
            .await;
        for request in self.fake.requests() {
            check_message_rules(&request);
            for (_, value) in &request.headers {
                if request.header("authorization") != Some(value) {
                    assert!(!value.contains(&self.token));
                }
            }
        }
        let logs = String::from_utf8_lossy(&captured_logs().lock().unwrap()).into_owned();
        assert!(!logs.is_empty(), "logs were captured");
        if let Some(at) = logs.find(&self.token) {
            let start = logs[..at].rfind('\n').map_or(0, |i| i + 1);
            let end = logs[at..].find('\n').map_or(logs.len(), |i| at + i);
            panic!("the bot token appeared in the logs: {}", &logs[start..end]);
        }
        drop(self.dir);
    }

    async fn ask(&self, question: &str) -> Request {
        let id = self.fake.new_id();
        let before = self.fake.sent("PATCH", "/messages/@original").len();
        self.fake.dispatch(
            0,
            "INTERACTION_CREATE",
            ask_interaction(&id, "555", question, false),
        );
        self.fake
            .wait_for("the answer", Duration::from_secs(10), |f| {
                f.sent("PATCH", "/messages/@original")
                    .iter()
                    .filter(|r| r.status == 200)
                    .count()
                    > before
            })
            .await;
        self.fake
            .sent("PATCH", &format!("interaction-token-{id}"))
            .into_iter()
            .rev()
            .find(|r| r.status == 200)
            .expect("an answer")
    }
}

/// Discord's limits and no pings, on every message body the bot sent.
fn check_message_rules(request: &Request) {
    let body = if request.path.ends_with("/callback") {
        if !request.body["data"].is_object() {
            return;
        }
        &request.body["data"]
    } else if request.method == "PATCH"
        || (request.method == "POST" && request.path.contains("/messages"))
    {
        &request.body
    } else {
        return;
    };
    if body["content"].is_null() && body["embeds"].is_null() {
        // A deferral carries no text.
        return;
    }
    let allowed = &body["allowed_mentions"];
    assert!(allowed.is_object(), "no allowed_mentions in {body}");
    assert_eq!(allowed["parse"], serde_json::json!([]), "{body}");
    assert!(allowed["users"].as_array().is_none_or(|u| u.is_empty()));
    assert!(allowed["roles"].as_array().is_none_or(|r| r.is_empty()));
    let chars = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
    assert!(chars(&body["content"]) <= 2000);
    let embeds = body["embeds"].as_array().cloned().unwrap_or_default();
    assert!(embeds.len() <= 10);
    let mut total = 0;
    for e in &embeds {
        assert!(chars(&e["title"]) <= 256);
        assert!(chars(&e["description"]) <= 4096);
        assert!(chars(&e["footer"]["text"]) <= 2048);
        let fields = e["fields"].as_array().cloned().unwrap_or_default();
        assert!(fields.len() <= 25);
        for f in &fields {
            assert!(chars(&f["name"]) <= 256);
            assert!(chars(&f["value"]) <= 1024);
            total += chars(&f["name"]) + chars(&f["value"]);
        }
        total += chars(&e["title"]) + chars(&e["description"]) + chars(&e["footer"]["text"]);
    }
    assert!(total <= 6000);
}

fn first_embed(request: &Request) -> &Value {
    &request.body["embeds"][0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_registers_ask_then_answers_it_with_a_citation() {
    let bot = start_bot(test_config(), None).await;
    let fake = &bot.fake;
    let identify = &fake.identifies()[0];
    assert_eq!(
        identify["token"]
            .as_str()
            .map(|t| t.trim_start_matches("Bot ")),
        Some(bot.token.as_str())
    );
    fake.wait_for("command registration", Duration::from_secs(10), |f| {
        f.sent("PUT", "/commands").len() >= 2
    })
    .await;
    let global = fake.sent(
        "PUT",
        &format!("/applications/{}/commands", fake_discord::APP_ID),
    );
    assert_eq!(global.len(), 1, "registered once");
    let command = &global[0].body[0];
    assert_eq!(command["name"], "ask");
    assert_eq!(command["options"][0]["name"], "question");
    assert_eq!(command["options"][0]["type"], 3);
    assert_eq!(command["options"][0]["required"], true);
    assert_eq!(command["options"][1]["name"], "private");
    assert_eq!(
        fake.sent("PUT", "/guilds/").len(),
        1,
        "and in the development guild"
    );

    let answer = bot.ask("how are AAV vectors delivered?").await;
    let callbacks = fake.sent("POST", "/callback");
    assert_eq!(callbacks[0].body["type"], 5, "deferred first");
    let embed = first_embed(&answer);
    let footer = embed["footer"]["text"].as_str().unwrap();
    assert!(footer.contains("corpus/gene-therapy.md:"), "{footer}");
    assert!(footer.starts_with("Gene therapy › "), "{footer}");
    let description = embed["description"].as_str().unwrap();
    assert!(
        description.contains("**"),
        "matched terms in bold: {description}"
    );
    assert!(
        description.contains("__"),
        "best sentence marked: {description}"
    );
    assert!(embed["title"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("vectors"));
    let fields = embed["fields"].as_array().unwrap();
    assert_eq!(fields[0]["name"], "Matched");
    assert!(fields.len() >= 3, "the next two passages as fields");
    assert_eq!(
        answer.body["components"][0]["components"][0]["label"],
        "More passages"
    );
    assert!(answer.header("authorization").unwrap().starts_with("Bot "));
    assert!(answer
        .header("user-agent")
        .unwrap()
        .starts_with("DiscordBot"));

    // The button pages on.
    let custom_id = answer.body["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
        .to_string();
    let click = fake.new_id();
    fake.dispatch(
        0,
        "INTERACTION_CREATE",
        button_interaction(&click, "555", &custom_id),
    );
    fake.wait_for("more passages", Duration::from_secs(10), |f| {
        f.sent("POST", &format!("interaction-token-{click}/callback"))
            .len()
            == 1
    })
    .await;
    let more = &fake.sent("POST", &format!("interaction-token-{click}/callback"))[0];
    assert_eq!(more.body["type"], 4);
    assert_eq!(more.body["data"]["flags"], 64, "ephemeral");
    assert!(more.body["data"]["embeds"][0]["title"]
        .as_str()
        .unwrap()
        .starts_with("4. "));
    bot.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mention_gets_the_same_answer_as_a_reply() {
    let bot = start_bot(test_config(), None).await;
    let fake = &bot.fake;
    let id = fake.new_id();
    fake.dispatch(
        0,
        "MESSAGE_CREATE",
        mention_message(
            &id,
            "777",
            &format!("<@{}> what is exon skipping?", fake_discord::BOT_ID),
        ),
    );
    fake.wait_for("the mention reply", Duration::from_secs(10), |f| {
        !f.sent(
            "POST",
            &format!("/channels/{}/messages", fake_discord::CHANNEL_ID),
        )
        .is_empty()
    })
    .await;
    let reply = &fake.sent("POST", "/messages")[0];
    assert_eq!(reply.body["message_reference"]["message_id"], id.as_str());
    let embed = first_embed(reply);
    assert!(embed["description"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("exon"));
    assert!(embed["footer"]["text"]
        .as_str()
        .unwrap()
        .contains("corpus/gene-therapy.md:"));
    bot.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_question_the_article_does_not_cover_gets_a_polite_reply() {
    let bot = start_bot(test_config(), None).await;
    let answer = bot.ask("what's the weather in Paris today").await;
    let embed = first_embed(&answer);
    assert_eq!(embed["title"], "Not covered");
    assert!(embed["description"]
        .as_str()
        .unwrap()
        .starts_with("The article does not cover this question."));
    assert!(answer.body["components"]
        .as_array()
        .is_none_or(|c| c.is_empty()));
    bot.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_on_the_first_reply_is_retried_and_delivered() {
    let bot = start_bot(test_config(), None).await;
    bot.fake.fail_next(
        "PATCH",
        "/messages/@original",
        429,
        serde_json::json!({"message": "You are being rate limited.", "retry_after": 0.05, "global": false}),
    );
    let answer = bot.ask("what is exon skipping").await;
    let patches = bot.fake.sent("PATCH", "/messages/@original");
    assert_eq!(
        patches.iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 200]
    );
    assert_eq!(patches[0].body, answer.body, "the same answer sent again");
    bot.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_interaction_twice_is_answered_once_and_a_5xx_is_retried() {
    let bot = start_bot(test_config(), None).await;
    let fake = &bot.fake;
    fake.fail_next(
        "POST",
        "/callback",
        502,
        serde_json::json!({"message": "Bad gateway", "code": 0}),
    );
    let id = fake.new_id();
    let payload = ask_interaction(&id, "555", "what is exon skipping", false);
    fake.dispatch(0, "INTERACTION_CREATE", payload.clone());
    fake.dispatch(0, "INTERACTION_CREATE", payload);
    fake.wait_for("the answer", Duration::from_secs(10), |f| {
        f.sent("PATCH", &format!("interaction-token-{id}")).len() == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        fake.sent("PATCH", &format!("interaction-token-{id}")).len(),
        1,
        "answered once"
    );
    let callbacks: Vec<u16> = fake
        .sent("POST", &format!("interaction-token-{id}/callback"))
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(callbacks, [502, 204]);
    bot.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_asking_too_fast_is_told_to_wait() {
    let mut config = test_config();
    config.discord.cooldown_secs = 60.0;
    let bot = start_bot(config, None).await;
    bot.ask("what is exon skipping").await;
    let id = bot.fake.new_id();
    bot.fake.dispatch(
        0,
        "INTERACTION_CREATE",
        ask_interaction(&id, "555", "what are CAR T cells", false),
    );
    bot.fake
        .wait_for("the cooldown notice", Duration::from_secs(10), |f| {
            !f.sent("POST", &format!("interaction-token-{id}/callback"))
                .is_empty()
        })
        .await;
    let notice = &bot
        .fake
        .sent("POST", &format!("interaction-token-{id}/callback"))[0];
    assert_eq!(notice.body["type"], 4);
    assert_eq!(notice.body["data"]["flags"], 64);
    assert!(notice.body["data"]["content"]
        .as_str()
        .unwrap()
        .contains("ask again in"));
    bot.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corpus_edit_is_picked_up_by_the_running_bot() {
    let bot = start_bot(test_config(), None).await;
    let before = bot.ask("quokkagene protocol").await;
    assert_eq!(first_embed(&before)["title"], "Not covered");
    let file = bot.dir.path().join("corpus/gene-therapy.md");
    let mut text = fs::read_to_string(&file).unwrap();
    text.push_str("\nThe quokkagene protocol was added while the bot was running.\n");
    fs::write(&file, text).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let answer = bot.ask("quokkagene protocol").await;
        let description = first_embed(&answer)["description"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if description.contains("quokkagene") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the edit was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bot.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_rebuilt_by_another_process_is_swapped_in() {
    let bot = start_bot(test_config(), None).await;
    let corpus = bot.dir.path().join("corpus");
    let index = bot.dir.path().join("index");
    let generation = citebot::index::current_generation(&index).unwrap();
    std::thread::sleep(Duration::from_millis(5));
    citebot::index::build(&corpus, &index).unwrap();
    assert_ne!(
        citebot::index::current_generation(&index).unwrap(),
        generation
    );
    // Questions keep being answered across the swap.
    for _ in 0..5 {
        let answer = bot.ask("what is exon skipping").await;
        assert_ne!(first_embed(&answer)["title"], "Not covered");
    }
    bot.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_shards_of_two_identify_as_0_2_and_1_2() {
    let bot = start_bot(
        test_config(),
        Some(Shards {
            range: 0..2,
            total: 2,
        }),
    )
    .await;
    let mut shards: Vec<Value> = bot
        .fake
        .identifies()
        .iter()
        .map(|i| i["shard"].clone())
        .collect();
    shards.sort_by_key(|s| s[0].as_u64());
    assert_eq!(
        shards,
        [serde_json::json!([0, 2]), serde_json::json!([1, 2])]
    );
    bot.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_binary_serves_through_discord_api_base_and_stops_on_sigterm() {
    let fake = FakeDiscord::start().await;
    let dir = common::workspace();
    let token = format!("process-token-{}", fake.new_id());
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_citebot"))
        .arg("serve")
        .current_dir(dir.path())
        .env("DISCORD_TOKEN", &token)
        .env("DISCORD_API_BASE", &fake.base)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("RUST_LOG", "trace")
        .env_remove("CITEBOT_CORPUS")
        .env_remove("CITEBOT_INDEX")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("citebot serve starts");
    // Read stderr as it comes, so a failure can show it.
    let stderr_buffer = Arc::new(Mutex::new(String::new()));
    let mut pipe = child.stderr.take().expect("stderr");
    let sink = Arc::clone(&stderr_buffer);
    let reader = std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = std::io::Read::read(&mut pipe, &mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    });
    let show = Arc::clone(&stderr_buffer);
    let _dump = DumpOnPanic(show);
    fake.wait_ready(1).await;
    let id = fake.new_id();
    fake.dispatch(
        0,
        "INTERACTION_CREATE",
        ask_interaction(&id, "555", "how are AAV vectors delivered?", false),
    );
    fake.wait_for("the answer", Duration::from_secs(10), |f| {
        !f.sent("PATCH", &format!("interaction-token-{id}"))
            .is_empty()
    })
    .await;
    let answer = &fake.sent("PATCH", &format!("interaction-token-{id}"))[0];
    assert!(first_embed(answer)["footer"]["text"]
        .as_str()
        .unwrap()
        .contains("corpus/gene-therapy.md:"));

    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let output = tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "citebot serve did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .unwrap();
    let status = output;
    reader.join().expect("stderr reader");
    let stderr = stderr_buffer.lock().unwrap().clone();
    assert!(status.success(), "exit {status:?}: {stderr}");
    assert!(
        stderr.contains("question") && stderr.contains("answered=true"),
        "{stderr}"
    );
    assert!(stderr.contains("shutting down"), "{stderr}");
    assert!(
        !stderr.contains(&token),
        "the token appeared in the process's logs"
    );
    assert!(
        fake.state
            .closed_cleanly
            .load(std::sync::atomic::Ordering::SeqCst)
            > 0
    );
}

/// Prints a child's stderr when the test fails, to show why.
struct DumpOnPanic(Arc<Mutex<String>>);

impl Drop for DumpOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- citebot serve stderr ---\n{}",
                self.0.lock().map(|s| s.clone()).unwrap_or_default()
            );
        }
    }
}

#[test]
fn serve_without_a_token_says_how_to_get_one() {
    let dir = common::workspace();
    common::citebot(dir.path())
        .arg("serve")
        .env_remove("DISCORD_TOKEN")
        .assert()
        .code(2)
        .stderr(predicates::str::contains("DISCORD_TOKEN is not set"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_gateway_connection_is_resumed_and_questions_still_answered() {
    let bot = start_bot(test_config(), None).await;
    bot.ask("what is exon skipping").await;
    bot.fake.disconnect_all();
    bot.fake
        .wait_for("the bot to resume", Duration::from_secs(20), |f| {
            f.state.resumes.load(std::sync::atomic::Ordering::SeqCst) > 0
        })
        .await;
    let answer = bot.ask("how are AAV vectors delivered?").await;
    assert!(first_embed(&answer)["footer"]["text"]
        .as_str()
        .unwrap()
        .contains("corpus/gene-therapy.md:"));
    bot.finish().await;
}
