//! Conversations in Discord (issue 23): an answer starts a thread, and a
//! message in it (no mention needed) or a reply to the bot's answer is a
//! follow-up read with the thread's conversation.

use std::time::Duration;

use super::bot::{first_embed, start_bot, test_config, Bot};
use crate::fake_discord::{ask_interaction, user_message, Request, CHANNEL_ID};
use crate::util::json_lines;

/// Sends `text` as a user's message in `channel` and waits for the bot's
/// answer posted there.
async fn say(bot: &Bot, channel: &str, text: &str, reply_to: Option<&str>) -> Request {
    let fake = &bot.fake;
    let path = format!("/channels/{channel}/messages");
    let before = fake.sent("POST", &path).len();
    let id = fake.new_id();
    fake.dispatch(
        0,
        "MESSAGE_CREATE",
        user_message(&id, channel, "555", text, false, reply_to),
    );
    fake.wait_for("the follow-up's answer", Duration::from_secs(10), |f| {
        f.sent("POST", &path).len() > before
    })
    .await;
    fake.sent("POST", &path).pop().expect("an answer")
}

fn body_text(request: &Request) -> String {
    request.body.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_three_turn_conversation_in_the_thread_of_an_answer() {
    let bot = start_bot(test_config(), None).await;
    let fake = &bot.fake;
    let first = bot.ask("what is strimvelis?").await;
    assert!(body_text(&first).contains("Strimvelis"));
    fake.wait_for("a thread on the answer", Duration::from_secs(10), |f| {
        !f.sent("POST", "/threads").is_empty()
    })
    .await;
    let started = &fake.sent("POST", "/threads")[0];
    assert_eq!(started.status, 201);
    assert_eq!(started.body["name"], "what is strimvelis?");
    let thread = started.response["id"].as_str().unwrap().to_string();

    let second = say(&bot, &thread, "how much does it cost?", None).await;
    let content = second.body["content"].as_str().unwrap();
    assert!(
        content.starts_with("Understood as: how much does it cost?"),
        "{content}"
    );
    assert!(content.to_lowercase().contains("strimvelis"), "{content}");
    let embed = first_embed(&second);
    assert!(
        embed["description"].as_str().unwrap().contains("600,000"),
        "{embed}"
    );

    let third = say(&bot, &thread, "when was it approved?", None).await;
    assert!(third.body["content"]
        .as_str()
        .unwrap()
        .starts_with("Understood as:"));
    assert!(body_text(&third).contains("2016"), "{}", third.body);
    assert_eq!(
        fake.sent("POST", "/threads").len(),
        1,
        "one thread for the conversation"
    );

    // A message in a channel the bot holds no conversation in, without a
    // mention, is none of its business.
    let before = fake.requests().len();
    let id = fake.new_id();
    fake.dispatch(
        0,
        "MESSAGE_CREATE",
        user_message(
            &id,
            CHANNEL_ID,
            "555",
            "how much does it cost?",
            false,
            None,
        ),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.requests().len(), before);
    bot.finish().await;
}

// Without the right to start threads the answer stays a plain reply, and a
// reply to it continues the conversation; a private /ask starts no thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn where_no_thread_can_be_made_a_reply_to_the_answer_continues() {
    let bot = start_bot(test_config(), None).await;
    let fake = &bot.fake;
    fake.fail_next(
        "POST",
        "/threads",
        403,
        serde_json::json!({"message": "Missing Permissions", "code": 50013}),
    );
    let first = bot.ask("what is glybera").await;
    fake.wait_for("the refused thread", Duration::from_secs(10), |f| {
        !f.sent("POST", "/threads").is_empty()
    })
    .await;
    let answer_id = first.response["id"].as_str().unwrap().to_string();
    let second = say(&bot, CHANNEL_ID, "how much does it cost?", Some(&answer_id)).await;
    assert!(
        second.body["message_reference"].is_object(),
        "a reply, in the channel"
    );
    let content = second.body["content"].as_str().unwrap();
    assert!(content.to_lowercase().contains("glybera"), "{content}");
    assert!(
        body_text(&second).contains("around one million"),
        "{}",
        second.body
    );

    let threads = fake.sent("POST", "/threads").len();
    let id = fake.new_id();
    fake.dispatch(
        0,
        "INTERACTION_CREATE",
        ask_interaction(&id, "555", "what is exon skipping", true),
    );
    fake.wait_for("the private answer", Duration::from_secs(10), |f| {
        !f.sent("PATCH", &format!("interaction-token-{id}"))
            .is_empty()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        fake.sent("POST", "/threads").len(),
        threads,
        "no thread for a private answer"
    );
    bot.finish().await;
}

// Issue 23: 👍/👎 on each answer, only the asker's click counts; answers and
// votes go to the feedback log (user ids hashed), which `citebot gaps` reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_askers_vote_is_logged_and_gaps_lists_what_was_voted_down() {
    let bot = start_bot(test_config(), None).await;
    let fake = &bot.fake;
    let answer = bot.ask("what is glybera").await;
    let rows = answer.body["components"].as_array().unwrap();
    let votes = rows.last().unwrap()["components"].as_array().unwrap();
    let down = votes[1]["custom_id"].as_str().unwrap().to_string();
    assert!(
        down.starts_with("vote:") && down.ends_with(":down"),
        "{down}"
    );

    let click = |user: &str| {
        let id = fake.new_id();
        fake.dispatch(
            0,
            "INTERACTION_CREATE",
            crate::fake_discord::button_interaction(&id, user, &down),
        );
        id
    };
    let mut replies = Vec::new();
    for user in ["999", "555"] {
        let id = click(user);
        fake.wait_for("the vote's reply", Duration::from_secs(10), |f| {
            !f.sent("POST", &format!("interaction-token-{id}/callback"))
                .is_empty()
        })
        .await;
        let reply = fake.sent("POST", &format!("interaction-token-{id}/callback"))[0].clone();
        assert_eq!(reply.body["data"]["flags"], 64, "ephemeral");
        replies.push(reply.body["data"]["content"].as_str().unwrap().to_string());
    }
    assert!(
        replies[0].starts_with("Only the person who asked"),
        "{}",
        replies[0]
    );
    assert!(replies[1].starts_with("Thanks"), "{}", replies[1]);

    let log = bot.dir.path().join("feedback.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    let records = json_lines(&text);
    assert_eq!(records.len(), 2, "the answer and the asker's vote: {text}");
    assert_eq!(records[0]["kind"], "answer");
    assert_eq!(records[1]["vote"], "down");
    assert!(!text.contains("\"555\""), "user ids are hashed: {text}");

    let gaps = crate::util::stdout_of(
        crate::util::citebot(bot.dir.path())
            .arg("gaps")
            .arg("--log")
            .arg(&log),
    );
    assert!(gaps.contains("what is glybera"), "{gaps}");
    assert!(gaps.contains("(1)"), "{gaps}");
    bot.finish().await;
}
