//! A fake Discord on 127.0.0.1 for driving the real serenity client: a small
//! HTTP/1.1 server for REST and a websocket gateway. It records every request
//! and identify, lets a test inject gateway events, and can answer the next
//! matching request with an error (a 429, a 500) to test retries.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

pub const BOT_ID: &str = "100000000000000001";
pub const APP_ID: &str = "100000000000000002";
pub const GUILD_ID: &str = "100000000000000003";
pub const CHANNEL_ID: &str = "100000000000000004";

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
    pub status: u16,
    /// What the fake answered (a sent message, with its id).
    pub response: Value,
    /// When the request arrived.
    pub at: Instant,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

struct Session {
    shard: u64,
    tx: mpsc::UnboundedSender<WsMessage>,
    seq: AtomicU64,
}

/// A canned failure for the next request matching `method` and `path_part`.
struct Failure {
    method: String,
    path_part: String,
    status: u16,
    body: Value,
}

#[derive(Default)]
pub struct State {
    pub requests: Mutex<Vec<Request>>,
    pub identifies: Mutex<Vec<Value>>,
    sessions: Mutex<Vec<Arc<Session>>>,
    failures: Mutex<VecDeque<Failure>>,
    pub closed_cleanly: AtomicUsize,
    /// RESUME frames received (a reconnect after a dropped connection).
    pub resumes: AtomicUsize,
    ws_url: Mutex<String>,
    next_id: AtomicU64,
}

pub struct FakeDiscord {
    pub base: String,
    pub state: Arc<State>,
}

impl FakeDiscord {
    pub async fn start() -> FakeDiscord {
        let state = Arc::new(State::default());
        state
            .next_id
            .store(200_000_000_000_000_000, Ordering::SeqCst);
        let rest = TcpListener::bind("127.0.0.1:0").await.expect("bind rest");
        let gateway = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind gateway");
        let base = format!("http://{}", rest.local_addr().expect("addr"));
        *state.ws_url.lock().unwrap() = format!("ws://{}", gateway.local_addr().expect("addr"));

        let s = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((stream, _)) = rest.accept().await {
                tokio::spawn(serve_http(stream, Arc::clone(&s)));
            }
        });
        let s = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((stream, _)) = gateway.accept().await {
                tokio::spawn(serve_gateway(stream, Arc::clone(&s)));
            }
        });
        FakeDiscord { base, state }
    }

    pub fn fail_next(&self, method: &str, path_part: &str, status: u16, body: Value) {
        self.state.failures.lock().unwrap().push_back(Failure {
            method: method.into(),
            path_part: path_part.into(),
            status,
            body,
        });
    }

    pub fn requests(&self) -> Vec<Request> {
        self.state.requests.lock().unwrap().clone()
    }

    pub fn identifies(&self) -> Vec<Value> {
        self.state.identifies.lock().unwrap().clone()
    }

    pub fn new_id(&self) -> String {
        self.state
            .next_id
            .fetch_add(1, Ordering::SeqCst)
            .to_string()
    }

    /// Waits until `check` holds, or panics after `timeout`.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        check: impl Fn(&FakeDiscord) -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        while !check(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; requests: {:#?}",
                self.requests()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn wait_ready(&self, shards: usize) {
        self.wait_for("the bot to identify", Duration::from_secs(30), |f| {
            f.state.sessions.lock().unwrap().len() >= shards
        })
        .await;
    }

    /// Sends a gateway dispatch to the session of `shard`.
    pub fn dispatch(&self, shard: u64, event: &str, d: Value) {
        let sessions = self.state.sessions.lock().unwrap();
        let session = sessions
            .iter()
            .rev()
            .find(|s| s.shard == shard)
            .expect("no session for that shard");
        let seq = session.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let frame = json!({"op": 0, "s": seq, "t": event, "d": d});
        session
            .tx
            .send(WsMessage::Text(frame.to_string()))
            .expect("session gone");
    }

    /// Drops every gateway connection the way a network failure would (close code 4000).
    pub fn disconnect_all(&self) {
        use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
        use tokio_tungstenite::tungstenite::protocol::CloseFrame;
        for session in self.state.sessions.lock().unwrap().iter() {
            let frame = CloseFrame {
                code: CloseCode::Library(4000),
                reason: "test disconnect".into(),
            };
            let _ = session.tx.send(WsMessage::Close(Some(frame)));
        }
    }

    /// The requests the bot made whose path contains `part`.
    pub fn sent(&self, method: &str, part: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == method && r.path.contains(part))
            .collect()
    }
}

pub fn bot_user() -> Value {
    json!({"id": BOT_ID, "username": "citebot", "discriminator": "0000", "global_name": null, "avatar": null, "bot": true})
}

pub fn member_user(id: &str) -> Value {
    json!({"id": id, "username": format!("user{id}"), "discriminator": "0000", "global_name": null, "avatar": null})
}

/// An `/ask` INTERACTION_CREATE payload, checked against serenity's own type.
pub fn ask_interaction(id: &str, user: &str, question: &str, private: bool) -> Value {
    let mut options = vec![json!({"name": "question", "type": 3, "value": question})];
    if private {
        options.push(json!({"name": "private", "type": 5, "value": true}));
    }
    let d = json!({
        "id": id,
        "application_id": APP_ID,
        "type": 2,
        "token": format!("interaction-token-{id}"),
        "version": 1,
        "guild_id": GUILD_ID,
        "channel_id": CHANNEL_ID,
        "locale": "en-US",
        "guild_locale": "en-US",
        "app_permissions": "0",
        "entitlements": [],
        "authorizing_integration_owners": {},
        "attachment_size_limit": 8388608,
        "data": {"id": "300000000000000001", "name": "ask", "type": 1, "options": options},
        "member": {"user": member_user(user), "roles": [], "joined_at": "2026-01-01T00:00:00.000000+00:00",
                    "deaf": false, "mute": false, "flags": 0, "permissions": "0"},
    });
    serde_json::from_value::<serenity::all::Interaction>(d.clone())
        .expect("valid /ask interaction");
    d
}

/// A button click on "More passages".
pub fn button_interaction(id: &str, user: &str, custom_id: &str) -> Value {
    let d = json!({
        "id": id,
        "application_id": APP_ID,
        "type": 3,
        "token": format!("interaction-token-{id}"),
        "version": 1,
        "guild_id": GUILD_ID,
        "channel_id": CHANNEL_ID,
        "locale": "en-US",
        "app_permissions": "0",
        "entitlements": [],
        "authorizing_integration_owners": {},
        "attachment_size_limit": 8388608,
        "data": {"custom_id": custom_id, "component_type": 2},
        "message": message_json("400000000000000001", CHANNEL_ID, bot_user(), "", &[]),
        "member": {"user": member_user(user), "roles": [], "joined_at": "2026-01-01T00:00:00.000000+00:00",
                    "deaf": false, "mute": false, "flags": 0, "permissions": "0"},
    });
    serde_json::from_value::<serenity::all::Interaction>(d.clone())
        .expect("valid button interaction");
    d
}

fn message_json(
    id: &str,
    channel: &str,
    author: Value,
    content: &str,
    mentions: &[Value],
) -> Value {
    json!({
        "id": id, "channel_id": channel, "author": author, "content": content,
        "timestamp": "2026-11-29T00:00:00.000000+00:00", "edited_timestamp": null,
        "tts": false, "mention_everyone": false, "mentions": mentions, "mention_roles": [],
        "attachments": [], "embeds": [], "pinned": false, "type": 0, "flags": 0,
    })
}

/// A public thread, as Discord returns it when one is started on a message.
pub fn thread_json(id: &str, parent: &str, name: &str) -> Value {
    let d = json!({
        "id": id, "type": 11, "guild_id": GUILD_ID, "parent_id": parent, "name": name,
        "owner_id": BOT_ID, "message_count": 0, "member_count": 1, "rate_limit_per_user": 0,
        "flags": 0, "last_message_id": null,
        "thread_metadata": {"archived": false, "auto_archive_duration": 1440,
            "archive_timestamp": "2026-12-05T00:00:00.000000+00:00", "locked": false},
    });
    serde_json::from_value::<serenity::all::GuildChannel>(d.clone()).expect("valid thread");
    d
}

/// A MESSAGE_CREATE from a user in `channel` (a thread, say), mentioning the
/// bot or not, replying to `reply_to` (one of the bot's messages) or not.
pub fn user_message(
    id: &str,
    channel: &str,
    user: &str,
    content: &str,
    mention: bool,
    reply_to: Option<&str>,
) -> Value {
    let mentions = if mention {
        vec![bot_user()]
    } else {
        Vec::new()
    };
    let mut d = message_json(id, channel, member_user(user), content, &mentions);
    d["guild_id"] = json!(GUILD_ID);
    d["member"] = json!({"roles": [], "joined_at": "2026-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false, "flags": 0});
    if let Some(answer) = reply_to {
        d["message_reference"] = json!({"message_id": answer, "channel_id": channel});
        d["referenced_message"] = message_json(answer, channel, bot_user(), "", &[]);
        d["type"] = json!(19);
    }
    serde_json::from_value::<serenity::all::Message>(d.clone()).expect("valid message");
    d
}

/// A MESSAGE_CREATE from a user that mentions the bot, checked against serenity's type.
pub fn mention_message(id: &str, user: &str, content: &str) -> Value {
    let mut d = message_json(id, CHANNEL_ID, member_user(user), content, &[bot_user()]);
    d["guild_id"] = json!(GUILD_ID);
    d["member"] = json!({"roles": [], "joined_at": "2026-01-01T00:00:00.000000+00:00", "deaf": false, "mute": false, "flags": 0});
    serde_json::from_value::<serenity::all::Message>(d.clone()).expect("valid message");
    d
}

async fn serve_http(stream: TcpStream, state: Arc<State>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut request_line = String::new();
        match reader.read_line(&mut request_line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let mut parts = request_line.split_whitespace();
        let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
            return;
        };
        let (method, path) = (method.to_string(), path.to_string());
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let length: usize = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).await.is_err() {
            return;
        }
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let (status, reply) = respond(&state, &method, &path, &body);
        state.requests.lock().unwrap().push(Request {
            method,
            path,
            headers,
            body,
            status,
            response: reply.clone().unwrap_or(Value::Null),
            at: Instant::now(),
        });
        let text = match &reply {
            Some(v) => v.to_string(),
            None => String::new(),
        };
        let reason = match status {
            200 => "OK",
            201 => "Created",
            204 => "No Content",
            429 => "Too Many Requests",
            404 => "Not Found",
            _ => "Error",
        };
        let mut head = format!(
            "HTTP/1.1 {status} {reason}\r\ncontent-length: {}\r\n",
            text.len()
        );
        if reply.is_some() {
            head.push_str("content-type: application/json\r\n");
        }
        head.push_str("\r\n");
        if write.write_all(head.as_bytes()).await.is_err()
            || write.write_all(text.as_bytes()).await.is_err()
        {
            return;
        }
    }
}

fn respond(state: &State, method: &str, path: &str, body: &Value) -> (u16, Option<Value>) {
    {
        let mut failures = state.failures.lock().unwrap();
        if let Some(i) = failures
            .iter()
            .position(|f| f.method == method && path.contains(&f.path_part))
        {
            let f = failures.remove(i).expect("index");
            return (f.status, Some(f.body));
        }
    }
    let ws_url = state.ws_url.lock().unwrap().clone();
    let path = path.split('?').next().unwrap_or(path);
    let id = state.next_id.fetch_add(1, Ordering::SeqCst).to_string();
    match (method, path) {
        ("GET", "/api/v10/gateway") => (200, Some(json!({"url": ws_url}))),
        ("GET", "/api/v10/gateway/bot") => (
            200,
            Some(json!({
                "url": ws_url, "shards": 1,
                "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
            })),
        ),
        ("PUT", p) if p.ends_with("/commands") => {
            let commands: Vec<Value> = body
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|mut c| {
                    c["id"] = json!(state.next_id.fetch_add(1, Ordering::SeqCst).to_string());
                    c["application_id"] = json!(APP_ID);
                    c["version"] = json!("1");
                    c["type"] = json!(1);
                    c["default_member_permissions"] = Value::Null;
                    c
                })
                .collect();
            (200, Some(Value::Array(commands)))
        }
        ("POST", p) if p.starts_with("/api/v10/interactions/") && p.ends_with("/callback") => {
            (204, None)
        }
        ("PATCH" | "POST", p) if p.starts_with("/api/v10/webhooks/") => (
            200,
            Some(message_json(
                &id,
                CHANNEL_ID,
                bot_user(),
                body["content"].as_str().unwrap_or(""),
                &[],
            )),
        ),
        // A thread started on a message: its id is the message's.
        ("POST", p) if p.starts_with("/api/v10/channels/") && p.ends_with("/threads") => {
            let parts: Vec<&str> = p.split('/').collect();
            match (parts.get(4), parts.get(5), parts.get(6)) {
                (Some(channel), Some(&"messages"), Some(message)) => (
                    201,
                    Some(thread_json(
                        message,
                        channel,
                        body["name"].as_str().unwrap_or(""),
                    )),
                ),
                _ => (
                    400,
                    Some(json!({"message": "Invalid Form Body", "code": 50035})),
                ),
            }
        }
        ("POST", p) if p.starts_with("/api/v10/channels/") && p.ends_with("/messages") => {
            let channel = p.split('/').nth(4).unwrap_or(CHANNEL_ID).to_string();
            (
                200,
                Some(message_json(
                    &id,
                    &channel,
                    bot_user(),
                    body["content"].as_str().unwrap_or(""),
                    &[],
                )),
            )
        }
        _ => (404, Some(json!({"message": "Unknown route", "code": 0}))),
    }
}

async fn serve_gateway(stream: TcpStream, state: Arc<State>) {
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<WsMessage>();
    let writer = tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            let closing = matches!(message, WsMessage::Close(_));
            if sink.send(message).await.is_err() || closing {
                break;
            }
        }
    });
    let _ = tx.send(WsMessage::Text(
        json!({"op": 10, "d": {"heartbeat_interval": 41250}}).to_string(),
    ));
    let ws_url = state.ws_url.lock().unwrap().clone();
    while let Some(Ok(message)) = source.next().await {
        match message {
            WsMessage::Text(text) => {
                let Ok(frame) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                match frame["op"].as_u64() {
                    Some(2) => {
                        let shard = frame["d"]["shard"].clone();
                        let id = shard[0].as_u64().unwrap_or(0);
                        state.identifies.lock().unwrap().push(frame["d"].clone());
                        let session = Arc::new(Session {
                            shard: id,
                            tx: tx.clone(),
                            seq: AtomicU64::new(1),
                        });
                        let ready = json!({"op": 0, "s": 1, "t": "READY", "d": {
                            "v": 10, "user": bot_user(),
                            "guilds": [{"id": GUILD_ID, "unavailable": true}],
                            "session_id": format!("session-{id}"), "resume_gateway_url": ws_url,
                            "shard": shard, "application": {"id": APP_ID, "flags": 0},
                        }});
                        let _ = tx.send(WsMessage::Text(ready.to_string()));
                        state.sessions.lock().unwrap().push(session);
                    }
                    Some(1) => {
                        let _ = tx.send(WsMessage::Text(json!({"op": 11}).to_string()));
                    }
                    Some(6) => {
                        // Our session ids are "session-<shard>".
                        let shard = frame["d"]["session_id"]
                            .as_str()
                            .and_then(|s| s.strip_prefix("session-"))
                            .and_then(|s| s.parse().ok())
                            .unwrap_or(0);
                        let seq = frame["d"]["seq"].as_u64().unwrap_or(1) + 1;
                        let _ = tx.send(WsMessage::Text(
                            json!({"op": 0, "s": seq, "t": "RESUMED", "d": {}}).to_string(),
                        ));
                        let session = Arc::new(Session {
                            shard,
                            tx: tx.clone(),
                            seq: AtomicU64::new(seq),
                        });
                        state.sessions.lock().unwrap().push(session);
                        state.resumes.fetch_add(1, Ordering::SeqCst);
                    }
                    _ => {}
                }
            }
            WsMessage::Close(_) => {
                state.closed_cleanly.fetch_add(1, Ordering::SeqCst);
                let _ = tx.send(WsMessage::Close(None));
                break;
            }
            _ => {}
        }
    }
    drop(tx);
    let _ = writer.await;
}
