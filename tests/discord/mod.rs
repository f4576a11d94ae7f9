//! The bot end to end: the real serenity client against the fake Discord in
//! `fake_discord/`, on 127.0.0.1 only. The harness that starts a bot and
//! checks everything it sent is in `bot`.

mod bot;
mod threads;

use std::fs;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::fake_discord::{ask_interaction, button_interaction, mention_message, FakeDiscord};
use bot::{first_embed, start_bot, test_config};
use citebot::discord::Shards;
use serde_json::Value;

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
        &format!("/applications/{}/commands", crate::fake_discord::APP_ID),
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
async fn a_mention_is_answered_in_a_thread_started_on_it() {
    let bot = start_bot(test_config(), None).await;
    let fake = &bot.fake;
    let id = fake.new_id();
    fake.dispatch(
        0,
        "MESSAGE_CREATE",
        mention_message(
            &id,
            "777",
            &format!("<@{}> what is exon skipping?", crate::fake_discord::BOT_ID),
        ),
    );
    // Answered in a thread started on the question (its id is the question's).
    fake.wait_for("the answer in its thread", Duration::from_secs(10), |f| {
        !f.sent("POST", &format!("/channels/{id}/messages"))
            .is_empty()
    })
    .await;
    let thread = &fake.sent("POST", "/threads")[0];
    assert_eq!(
        thread.path,
        format!(
            "/api/v10/channels/{}/messages/{id}/threads",
            crate::fake_discord::CHANNEL_ID
        )
    );
    assert_eq!(thread.body["name"], "what is exon skipping?");
    let reply = &fake.sent("POST", &format!("/channels/{id}/messages"))[0];
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
    let dir = crate::util::workspace();
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
    let dir = crate::util::workspace();
    crate::util::citebot(dir.path())
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

// Index files damaged under the running bot: the bot notices, checks them
// against their checksums and rebuilds the index from the corpus; questions
// are answered from the new index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_index_under_the_running_bot_is_rebuilt_and_questions_still_answered() {
    let bot = start_bot(test_config(), None).await;
    let index = bot.dir.path().join("index");
    let generation = citebot::index::current_generation(&index).unwrap();
    for entry in fs::read_dir(crate::util::generation_dir(&index)).unwrap() {
        let path = entry.unwrap().path();
        let tantivy_file = path.extension().is_some_and(|e| {
            ["store", "idx", "term", "fieldnorm", "fast"]
                .iter()
                .any(|x| e == *x)
        });
        if tantivy_file {
            crate::util::damage(&path, 4096);
        }
    }
    // The watcher notices the changed files at its next look (100 ms here).
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while citebot::index::current_generation(&index).unwrap() == generation {
        assert!(
            std::time::Instant::now() < deadline,
            "the damage was not noticed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for question in [
        "what is exon skipping",
        "how much does glybera cost",
        "how are AAV vectors delivered",
        "which diseases does Strimvelis treat",
    ] {
        let answer = bot.ask(question).await;
        let embed = first_embed(&answer);
        let description = embed["description"].as_str().unwrap_or_default();
        assert!(
            embed["title"] != "Not covered" && !description.is_empty(),
            "{question}: {}",
            answer.body
        );
    }
    bot.finish().await;
}
