//! A bot under test: started against a fake Discord with a copy of the
//! corpus, stopped cleanly, and every message it sent and every log line it
//! wrote checked (Discord's limits, no pings, no token).

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::fake_discord::{ask_interaction, FakeDiscord, Request};
use citebot::config::Config;
use citebot::discord::{serve, ServeOptions, Shards, Token};
use serde_json::Value;
use tokio::sync::oneshot;

/// Everything any test's bot logged, at every level, to check for the token.
pub(super) fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
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

pub(super) struct Bot {
    pub(super) fake: FakeDiscord,
    pub(super) token: String,
    pub(super) stop: Option<oneshot::Sender<()>>,
    pub(super) task: tokio::task::JoinHandle<anyhow::Result<()>>,
    pub(super) dir: tempfile::TempDir,
}

pub(super) fn test_config() -> Config {
    let mut config = Config::default();
    config.discord.cooldown_secs = 0.0;
    config.discord.retry_backoff_ms = 50;
    config.discord.reload_poll_ms = 100;
    config.discord.dev_guild = Some(crate::fake_discord::GUILD_ID.parse().unwrap());
    config
}

pub(super) async fn start_bot(config: Config, shards: Option<Shards>) -> Bot {
    let logs = captured_logs();
    drop(logs);
    std::env::set_var("NO_PROXY", "127.0.0.1,localhost");
    let fake = FakeDiscord::start().await;
    let dir = crate::util::workspace();
    let mut config = config;
    if config.discord.feedback_log == Config::default().discord.feedback_log {
        config.discord.feedback_log = dir.path().join("feedback.jsonl");
    }
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
    pub(super) async fn finish(mut self) {
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

    pub(super) async fn ask(&self, question: &str) -> Request {
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
pub(super) fn check_message_rules(request: &Request) {
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

pub(super) fn first_embed(request: &Request) -> &Value {
    &request.body["embeds"][0]
}
