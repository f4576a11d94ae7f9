//! `citebot serve`: the Discord bot. serenity runs the gateway and REST; this
//! module answers `/ask` and mentions with [`render::discord_reply`], keeps a
//! per-user cooldown, retries replies Discord refuses with 429, and swaps in a
//! new index when the corpus is edited or another process rebuilds it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use serenity::all::{
    ButtonStyle, ChannelId, Client, ClientBuilder, Command, CommandDataOptionValue,
    CommandInteraction, CommandOptionType, ComponentInteraction, Context, CreateActionRow,
    CreateAllowedMentions, CreateButton, CreateCommand, CreateCommandOption, CreateEmbed,
    CreateEmbedFooter, CreateInteractionResponse, CreateInteractionResponseMessage, CreateMessage,
    EditInteractionResponse, EventHandler, GatewayIntents, GuildId, HttpBuilder, Interaction,
    Message, Ready, UserId,
};
use serenity::async_trait;
use serenity::http::HttpError;
use tracing::{info, warn};

use crate::config::Config;
use crate::index::{self, Index};
use crate::render::{self, Reply};
use crate::search::Engine;

/// The bot token; never printed, not even by `{:?}`.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(token: impl Into<String>) -> Self {
        Token(token.into())
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(redacted)")
    }
}

/// Which shards this process runs, out of how many.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shards {
    pub range: Range<u32>,
    pub total: u32,
}

pub struct ServeOptions {
    pub token: Token,
    /// e.g. `http://127.0.0.1:PORT`: REST and the gateway lookup go there (tests); `None` is Discord.
    pub api_base: Option<String>,
    pub corpus: PathBuf,
    pub index: PathBuf,
    pub config: Config,
    /// `None`: every shard Discord recommends, in this process.
    pub shards: Option<Shards>,
}

/// Longest `/ask` question Discord will send us: option values stop at 6,000 characters.
const MAX_REMEMBERED: usize = 1000;
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

struct Shared {
    engine: RwLock<Arc<Engine>>,
    config: Config,
    corpus: PathBuf,
    index: PathBuf,
    bot_id: OnceLock<UserId>,
    registered: AtomicBool,
    cooldowns: Mutex<HashMap<UserId, Instant>>,
    seen: Mutex<(HashSet<u64>, VecDeque<u64>)>,
    /// Questions behind "More passages" buttons, by key.
    more: Mutex<(HashMap<u64, String>, VecDeque<u64>)>,
    in_flight: AtomicUsize,
    closing: AtomicBool,
}

impl Shared {
    fn engine(&self) -> Arc<Engine> {
        match self.engine.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn swap(&self, index: Index) {
        let engine = Arc::new(Engine::new(index, self.config.search.clone()));
        match self.engine.write() {
            Ok(mut guard) => *guard = engine,
            Err(poisoned) => *poisoned.into_inner() = engine,
        }
    }

    /// False when `id` was seen before (Discord may deliver an event twice).
    fn first_time(&self, id: u64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if !seen.0.insert(id) {
            return false;
        }
        seen.1.push_back(id);
        if seen.1.len() > MAX_REMEMBERED {
            if let Some(old) = seen.1.pop_front() {
                seen.0.remove(&old);
            }
        }
        true
    }

    /// `Some(wait)` when the user asked too recently; otherwise records this question.
    fn cooldown(&self, user: UserId) -> Option<Duration> {
        let period = Duration::from_secs_f32(self.config.discord.cooldown_secs.max(0.0));
        let mut map = self.cooldowns.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if let Some(last) = map.get(&user) {
            let since = now.duration_since(*last);
            if since < period {
                return Some(period - since);
            }
        }
        map.insert(user, now);
        if map.len() > MAX_REMEMBERED * 10 {
            map.retain(|_, t| now.duration_since(*t) < period);
        }
        None
    }

    fn remember_question(&self, key: u64, question: &str) {
        let mut more = self.more.lock().unwrap_or_else(|p| p.into_inner());
        if more.0.insert(key, question.to_string()).is_none() {
            more.1.push_back(key);
        }
        if more.1.len() > MAX_REMEMBERED {
            if let Some(old) = more.1.pop_front() {
                more.0.remove(&old);
            }
        }
    }

    fn remembered(&self, key: u64) -> Option<String> {
        let more = self.more.lock().unwrap_or_else(|p| p.into_inner());
        more.0.get(&key).cloned()
    }

    fn reply(&self, question: &str) -> (Reply, bool) {
        let engine = self.engine();
        match engine.ask(
            question,
            self.config.discord.passages.max(render::DISCORD_FIRST_PAGE),
        ) {
            Ok(answer) => (render::discord_reply(&answer), answer.answered()),
            Err(e) => {
                warn!(error = %e, "search failed");
                let reply = Reply {
                    content: "Sorry, I could not search the article just now; please try again."
                        .into(),
                    embeds: Vec::new(),
                    more: false,
                };
                (reply, false)
            }
        }
    }
}

/// Counts a question as in flight for as long as it lives.
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        InFlight(counter)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn embeds(reply: &Reply) -> Vec<CreateEmbed> {
    reply
        .embeds
        .iter()
        .map(|e| {
            let mut embed = CreateEmbed::new()
                .title(&e.title)
                .description(&e.description)
                .colour(e.color);
            if !e.footer.is_empty() {
                embed = embed.footer(CreateEmbedFooter::new(&e.footer));
            }
            for (name, value) in &e.fields {
                embed = embed.field(name, value, false);
            }
            embed
        })
        .collect()
}

fn more_button(reply: &Reply, key: u64, from: usize) -> Vec<CreateActionRow> {
    if !reply.more {
        return Vec::new();
    }
    let button = CreateButton::new(format!("more:{key}:{from}"))
        .label("More passages")
        .style(ButtonStyle::Secondary);
    vec![CreateActionRow::Buttons(vec![button])]
}

/// Nobody is ever pinged by what the bot writes.
fn no_pings() -> CreateAllowedMentions {
    CreateAllowedMentions::new().replied_user(false)
}

/// Runs a REST call, waiting and retrying when Discord answers 429 (rate
/// limited) or a 5xx. serenity 0.12 does not hand back the body's
/// `retry_after`, so the wait is the configured backoff, doubled each try.
async fn with_retry<T, F, Fut>(backoff: Duration, what: &str, mut call: F) -> serenity::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = serenity::Result<T>>,
{
    let mut wait = backoff;
    let mut attempt = 0;
    loop {
        let result = call().await;
        let status = match &result {
            Err(serenity::Error::Http(HttpError::UnsuccessfulRequest(r))) => {
                Some(r.status_code.as_u16())
            }
            _ => None,
        };
        match status {
            Some(code @ (429 | 500..=599)) if attempt < 3 => {
                warn!(
                    status = code,
                    attempt,
                    wait_ms = wait.as_millis() as u64,
                    "{what}: Discord refused, retrying"
                );
                tokio::time::sleep(wait).await;
                wait *= 2;
                attempt += 1;
            }
            _ => return result,
        }
    }
}

/// The one log line per question.
fn log_question(
    via: &str,
    guild: Option<GuildId>,
    channel: ChannelId,
    started: Instant,
    answered: bool,
    error: Option<serenity::Error>,
) {
    info!(
        via,
        guild = guild.map(|g| g.get()),
        channel = channel.get(),
        latency_ms = started.elapsed().as_millis() as u64,
        answered,
        delivered = error.is_none(),
        "question"
    );
    if let Some(e) = error {
        warn!(error = %e, "could not deliver the answer");
    }
}

fn cooldown_notice(wait: Duration) -> String {
    format!(
        "One question at a time, please: you can ask again in {:.0} s.",
        wait.as_secs_f32().ceil()
    )
}

fn ask_command() -> CreateCommand {
    CreateCommand::new("ask")
        .description("Ask a question about the article; get the passage that answers it, cited")
        .add_option(
            CreateCommandOption::new(
                CommandOptionType::String,
                "question",
                "What you want to know",
            )
            .required(true)
            .max_length(1000),
        )
        .add_option(CreateCommandOption::new(
            CommandOptionType::Boolean,
            "private",
            "Only you see the answer",
        ))
}

struct Handler {
    shared: Arc<Shared>,
}

impl Handler {
    fn backoff(&self) -> Duration {
        Duration::from_millis(self.shared.config.discord.retry_backoff_ms)
    }

    async fn on_ask(&self, ctx: &Context, command: &CommandInteraction) {
        let started = Instant::now();
        let mut question = String::new();
        let mut private = false;
        for option in &command.data.options {
            match (&*option.name, &option.value) {
                ("question", CommandDataOptionValue::String(q)) => question = q.clone(),
                ("private", CommandDataOptionValue::Boolean(p)) => private = *p,
                _ => {}
            }
        }
        if let Some(wait) = self.shared.cooldown(command.user.id) {
            let message = CreateInteractionResponseMessage::new()
                .content(cooldown_notice(wait))
                .ephemeral(true)
                .allowed_mentions(no_pings());
            let response = CreateInteractionResponse::Message(message);
            if let Err(e) = with_retry(self.backoff(), "cooldown notice", || {
                command.create_response(&ctx.http, response.clone())
            })
            .await
            {
                warn!(error = %e, "could not send the cooldown notice");
            }
            return;
        }
        let defer = CreateInteractionResponse::Defer(
            CreateInteractionResponseMessage::new().ephemeral(private),
        );
        if let Err(e) = with_retry(self.backoff(), "defer", || {
            command.create_response(&ctx.http, defer.clone())
        })
        .await
        {
            warn!(error = %e, "could not acknowledge /ask");
            return;
        }
        let (reply, answered) = self.shared.reply(&question);
        let key = command.id.get();
        if reply.more {
            self.shared.remember_question(key, &question);
        }
        let edit = EditInteractionResponse::new()
            .content(reply.content.clone())
            .embeds(embeds(&reply))
            .components(more_button(&reply, key, render::DISCORD_FIRST_PAGE))
            .allowed_mentions(no_pings());
        let sent = with_retry(self.backoff(), "answer", || {
            command.edit_response(&ctx.http, edit.clone())
        })
        .await;
        log_question(
            "slash",
            command.guild_id,
            command.channel_id,
            started,
            answered,
            sent.err(),
        );
    }

    async fn on_more(&self, ctx: &Context, component: &ComponentInteraction) {
        let mut parts = component.data.custom_id.split(':');
        let (Some("more"), Some(key), Some(from)) = (parts.next(), parts.next(), parts.next())
        else {
            return;
        };
        let (Ok(key), Ok(from)) = (key.parse::<u64>(), from.parse::<usize>()) else {
            return;
        };
        let reply = match self.shared.remembered(key) {
            Some(question) => {
                let engine = self.shared.engine();
                match engine.ask(&question, from + render::DISCORD_MORE_PAGE + 1) {
                    Ok(answer) => render::discord_more(&answer, from),
                    Err(e) => {
                        warn!(error = %e, "search failed");
                        Reply {
                            content: "Sorry, I could not search the article just now.".into(),
                            embeds: Vec::new(),
                            more: false,
                        }
                    }
                }
            }
            None => Reply {
                content: "This question is too old to page through; please ask it again.".into(),
                embeds: Vec::new(),
                more: false,
            },
        };
        let message = CreateInteractionResponseMessage::new()
            .content(reply.content.clone())
            .embeds(embeds(&reply))
            .components(more_button(&reply, key, from + render::DISCORD_MORE_PAGE))
            .ephemeral(true)
            .allowed_mentions(no_pings());
        let response = CreateInteractionResponse::Message(message);
        if let Err(e) = with_retry(self.backoff(), "more passages", || {
            component.create_response(&ctx.http, response.clone())
        })
        .await
        {
            warn!(error = %e, "could not send more passages");
        }
    }
}

/// The question in a message that mentions the bot, mention removed.
pub fn mention_question(content: &str, bot: u64) -> String {
    content
        .replace(&format!("<@{bot}>"), " ")
        .replace(&format!("<@!{bot}>"), " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        let _ = self.shared.bot_id.set(ready.user.id);
        info!(shard = ?ready.shard.map(|s| s.id.0), guilds = ready.guilds.len(), "connected to Discord");
        // Every shard gets a READY; the commands are registered once per process.
        if self.shared.registered.swap(true, Ordering::SeqCst) {
            return;
        }
        let backoff = self.backoff();
        if let Err(e) = with_retry(backoff, "register /ask", || {
            Command::set_global_commands(&ctx.http, vec![ask_command()])
        })
        .await
        {
            warn!(error = %e, "could not register /ask globally");
            self.shared.registered.store(false, Ordering::SeqCst);
        }
        if let Some(guild) = self.shared.config.discord.dev_guild {
            if let Err(e) = with_retry(backoff, "register /ask in the dev guild", || {
                GuildId::new(guild).set_commands(&ctx.http, vec![ask_command()])
            })
            .await
            {
                warn!(error = %e, guild, "could not register /ask in the development guild");
            }
        }
    }

    async fn interaction_create(&self, ctx: Context, interaction: Interaction) {
        if self.shared.closing.load(Ordering::SeqCst) {
            return;
        }
        let _in_flight = InFlight::new(&self.shared.in_flight);
        match interaction {
            Interaction::Command(command) if command.data.name == "ask" => {
                if !self.shared.first_time(command.id.get()) {
                    warn!(
                        id = command.id.get(),
                        "the same /ask arrived twice; answered once"
                    );
                    return;
                }
                self.on_ask(&ctx, &command).await;
            }
            Interaction::Component(component) if self.shared.first_time(component.id.get()) => {
                self.on_more(&ctx, &component).await;
            }
            _ => {}
        }
    }

    async fn message(&self, ctx: Context, msg: Message) {
        let Some(bot) = self.shared.bot_id.get().copied() else {
            return;
        };
        if msg.author.bot
            || !msg.mentions_user_id(bot)
            || self.shared.closing.load(Ordering::SeqCst)
        {
            return;
        }
        let _in_flight = InFlight::new(&self.shared.in_flight);
        if !self.shared.first_time(msg.id.get()) {
            warn!(
                id = msg.id.get(),
                "the same message arrived twice; answered once"
            );
            return;
        }
        let started = Instant::now();
        let question = mention_question(&msg.content, bot.get());
        let (reply, answered) = if let Some(wait) = self.shared.cooldown(msg.author.id) {
            let notice = Reply {
                content: cooldown_notice(wait),
                embeds: Vec::new(),
                more: false,
            };
            (notice, false)
        } else if question.is_empty() {
            let greeting = render::discord_reply(&crate::search::Answer {
                question: String::new(),
                verdict: crate::search::Verdict::Greeting,
                hits: Vec::new(),
                hints: Vec::new(),
                notice: None,
                known_share: 0.0,
            });
            (greeting, false)
        } else {
            self.shared.reply(&question)
        };
        let key = msg.id.get();
        if reply.more {
            self.shared.remember_question(key, &question);
        }
        let message = CreateMessage::new()
            .content(reply.content.clone())
            .embeds(embeds(&reply))
            .components(more_button(&reply, key, render::DISCORD_FIRST_PAGE))
            .reference_message(&msg)
            .allowed_mentions(no_pings());
        let sent = with_retry(self.backoff(), "mention reply", || {
            msg.channel_id.send_message(&ctx.http, message.clone())
        })
        .await;
        log_question(
            "mention",
            msg.guild_id,
            msg.channel_id,
            started,
            answered,
            sent.err(),
        );
    }
}

/// Watches for a corpus edit (rebuilds, debounced) and for an index rebuilt by
/// another process (reopens), swapping the engine without a restart.
async fn watch(shared: Arc<Shared>, poll: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut pending: Option<Vec<(PathBuf, crate::corpus::FileStamp)>> = None;
    let mut failed: Option<Vec<(PathBuf, crate::corpus::FileStamp)>> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = stop.changed() => return,
        }
        let engine = shared.engine();
        let manifest = engine.index().manifest.clone();
        drop(engine);
        let index_dir = shared.index.clone();
        if index::current_generation(&index_dir).is_some_and(|g| g != manifest.generation) {
            match tokio::task::spawn_blocking(move || Index::open(&index_dir)).await {
                Ok(Ok(index)) => {
                    info!(generation = %index.manifest.generation, "switched to the rebuilt index");
                    shared.swap(index);
                }
                Ok(Err(e)) => {
                    warn!(error = %e, "the new index cannot be opened; keeping the previous one")
                }
                Err(e) => warn!(error = %e, "reopening the index panicked"),
            }
            continue;
        }
        let Ok(stamps) = crate::corpus::quick_stamps(&shared.corpus) else {
            continue;
        };
        let changed = matches!(
            index::staleness_of(&stamps, &manifest),
            Ok(index::Staleness::Changed(_))
        );
        if !changed || failed.as_ref() == Some(&stamps) {
            pending = None;
            continue;
        }
        // Debounce: rebuild once the files have stopped changing for one poll.
        if pending.as_ref() != Some(&stamps) {
            pending = Some(stamps);
            continue;
        }
        pending = None;
        let (corpus, index_dir) = (shared.corpus.clone(), shared.index.clone());
        info!("the corpus changed; rebuilding the index");
        let built = tokio::task::spawn_blocking(move || {
            index::build(&corpus, &index_dir).and_then(|_| Index::open(&index_dir))
        })
        .await;
        match built {
            Ok(Ok(index)) => {
                info!(generation = %index.manifest.generation, passages = index.manifest.passages, "rebuilt the index");
                shared.swap(index);
                failed = None;
            }
            Ok(Err(e)) => {
                warn!(error = %e, "the rebuild failed; the previous index keeps answering");
                failed = Some(stamps);
            }
            Err(e) => warn!(error = %e, "the rebuild panicked; the previous index keeps answering"),
        }
    }
}

/// Runs the bot until `shutdown` completes, then stops taking questions,
/// lets the ones in flight finish, and closes the gateway.
pub async fn serve(
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (corpus, index_dir) = (options.corpus.clone(), options.index.clone());
    let index = tokio::task::spawn_blocking(move || {
        index::open_fresh(&corpus, &index_dir, &mut |message| info!("{message}"))
    })
    .await??;
    let shared = Arc::new(Shared {
        engine: RwLock::new(Arc::new(Engine::new(index, options.config.search.clone()))),
        config: options.config.clone(),
        corpus: options.corpus.clone(),
        index: options.index.clone(),
        bot_id: OnceLock::new(),
        registered: AtomicBool::new(false),
        cooldowns: Mutex::new(HashMap::new()),
        seen: Mutex::new((HashSet::new(), VecDeque::new())),
        more: Mutex::new((HashMap::new(), VecDeque::new())),
        in_flight: AtomicUsize::new(0),
        closing: AtomicBool::new(false),
    });

    let mut http = HttpBuilder::new(&options.token.0);
    if let Some(base) = &options.api_base {
        // serenity's ratelimiter would re-send through discord.com, bypassing the base.
        http = http
            .proxy(base.trim_end_matches('/'))
            .ratelimiter_disabled(true);
    }
    let intents = GatewayIntents::GUILD_MESSAGES | GatewayIntents::DIRECT_MESSAGES;
    let mut client: Client = ClientBuilder::new_with_http(http.build(), intents)
        .event_handler(Handler {
            shared: Arc::clone(&shared),
        })
        .await
        .map_err(|e| anyhow::anyhow!("cannot start the Discord client: {e}"))?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let poll = Duration::from_millis(options.config.discord.reload_poll_ms.max(50));
    let watcher = tokio::spawn(watch(Arc::clone(&shared), poll, stop_rx));

    let shard_manager = Arc::clone(&client.shard_manager);
    let closer_shared = Arc::clone(&shared);
    let closer = tokio::spawn(async move {
        shutdown.await;
        info!("shutting down: no new questions, finishing the ones in flight");
        closer_shared.closing.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        while closer_shared.in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        shard_manager.shutdown_all().await;
    });

    let result = match &options.shards {
        Some(shards) => {
            client
                .start_shard_range(shards.range.clone(), shards.total)
                .await
        }
        None => client.start_autosharded().await,
    };
    let _ = stop_tx.send(true);
    let _ = watcher.await;
    closer.abort();
    info!("disconnected from Discord");
    result.map_err(|e| anyhow::anyhow!("the Discord connection failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_prints() {
        let token = Token::new("secret-token-value");
        assert_eq!(format!("{token:?}"), "Token(redacted)");
    }

    #[test]
    fn mentions_are_removed_from_the_question() {
        assert_eq!(
            mention_question("<@42> how are AAV vectors delivered?", 42),
            "how are AAV vectors delivered?"
        );
        assert_eq!(
            mention_question("hey <@!42>   what is exon skipping", 42),
            "hey what is exon skipping"
        );
    }
}
