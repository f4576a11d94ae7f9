//! The bot's events: `/ask`, "More passages" clicks and messages that
//! mention it, each answered from the library's current engine.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serenity::all::{
    AutoArchiveDuration, ChannelId, Command, CommandDataOptionValue, CommandInteraction,
    ComponentInteraction, Context, CreateInteractionResponse, CreateInteractionResponseMessage,
    CreateMessage, CreateThread, EditInteractionResponse, EventHandler, GuildId, Interaction,
    Message, MessageId, Ready, UserId,
};
use serenity::async_trait;
use tracing::{info, warn};

use super::batch::Batcher;
use super::send::{
    ask_command, cooldown_notice, embeds, log_question, more_button, no_pings, reply_buttons,
    with_retry,
};
use super::state::{Ballots, Conversations, Cooldowns, Questions, Seen};
use crate::answer::{Answer, Question, Verdict};
use crate::config::DiscordConfig;
use crate::feedback::{Log, Record};
use crate::library::Library;
use crate::render::{self, Reply};

/// What the bot's events share.
pub(crate) struct Bot {
    pub library: Arc<Library>,
    pub config: DiscordConfig,
    pub bot_id: OnceLock<UserId>,
    /// `/ask` is registered once per process, whatever the shards.
    pub registered: AtomicBool,
    pub seen: Seen,
    pub cooldowns: Cooldowns,
    /// The questions behind "More passages" buttons.
    pub questions: Questions,
    /// Conversations, by thread (or by the answer replies continue).
    pub conversations: Conversations,
    /// The answers and votes log; none when `feedback_log` is empty.
    pub feedback: Option<Log>,
    /// Who may vote on each answer, and what was logged of it.
    pub ballots: Ballots,
    pub in_flight: AtomicUsize,
    /// Where questions wait for a search worker.
    batcher: Batcher,
    /// Shutting down: no new questions.
    pub closing: AtomicBool,
}

impl Bot {
    pub fn new(library: Arc<Library>, config: DiscordConfig) -> Self {
        let feedback = (!config.feedback_log.as_os_str().is_empty()).then(|| {
            Log::new(
                config.feedback_log.clone(),
                config.feedback_log_max_mb.saturating_mul(1_000_000),
            )
        });
        Bot {
            library,
            config,
            bot_id: OnceLock::new(),
            registered: AtomicBool::new(false),
            seen: Seen::default(),
            cooldowns: Cooldowns::default(),
            questions: Questions::default(),
            conversations: Conversations::default(),
            feedback,
            ballots: Ballots::default(),
            in_flight: AtomicUsize::new(0),
            batcher: Batcher::start(
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
            ),
            closing: AtomicBool::new(false),
        }
    }

    fn cooldown(&self, user: UserId) -> Option<Duration> {
        let period = Duration::from_secs_f32(self.config.cooldown_secs.max(0.0));
        self.cooldowns.check(user, period)
    }

    /// Answers `question` with `top` passages, on a search worker so the
    /// gateway's threads never wait on a search (with the questions waiting
    /// beside it, [`Batcher`]). Should the search fail or panic (the index
    /// damaged under the running bot), the library checks the index,
    /// rebuilds it from the corpus if damaged, and the question is asked once
    /// more.
    async fn answer(&self, question: Question, top: usize) -> Option<Answer> {
        for retry in [false, true] {
            let engine = self.library.engine();
            let failure = match self
                .batcher
                .ask(Arc::clone(&engine), question.clone(), top)
                .await
            {
                Ok(answer) => return Some(answer),
                Err(failure) => failure,
            };
            if retry {
                warn!(error = %failure, "search failed again on the rebuilt index");
                break;
            }
            warn!(error = %failure, "search failed; checking the index");
            let library = Arc::clone(&self.library);
            match tokio::task::spawn_blocking(move || library.recover(&engine)).await {
                Ok(Ok(true)) => {}
                Ok(Ok(false)) => break,
                Ok(Err(e)) => {
                    warn!(error = %e, "could not rebuild the index");
                    break;
                }
                Err(e) => {
                    warn!(error = %e, "rebuilding the index panicked");
                    break;
                }
            }
        }
        None
    }

    /// Passages fetched for a reply: its first page and the fields beside it.
    fn top(&self) -> usize {
        self.config.passages.max(render::DISCORD_FIRST_PAGE)
    }

    /// The reply to `question`, and the answer it shows (none when the
    /// search failed).
    async fn reply(&self, question: Question) -> (Reply, Option<Answer>) {
        match self.answer(question, self.top()).await {
            Some(answer) => (render::discord_reply(&answer), Some(answer)),
            None => (
                notice("Sorry, I could not search the article just now; please try again."),
                None,
            ),
        }
    }

    /// Logs `answer` (reply `key`, asked by `user`) when feedback is logged,
    /// and remembers who may vote on it; says whether it gets 👍/👎.
    fn log_answer(
        &self,
        key: u64,
        answer: &Answer,
        guild: Option<GuildId>,
        channel: ChannelId,
        user: UserId,
    ) -> bool {
        let Some(log) = &self.feedback else {
            return false;
        };
        let record = Record::of_answer(
            answer,
            key,
            guild.map(GuildId::get),
            channel.get(),
            user.get(),
        );
        if let Err(e) = log.append(&record) {
            warn!(error = %e, "could not write the feedback log");
        }
        let votes = answer.answered();
        if votes {
            self.ballots.remember(key, (user, record));
        }
        votes
    }

    /// Remembers the question behind a reply's "More passages" button: a
    /// follow-up as it was understood, so the next page keeps its subject.
    fn remember_more(&self, key: u64, reply: &Reply, question: &str, answer: Option<&Answer>) {
        if reply.more {
            let understood = answer.and_then(|a| a.understood_as.as_deref());
            self.questions
                .remember(key, understood.unwrap_or(question).to_string());
        }
    }
}

/// An interaction's answer of a line of text, shown to the clicker alone.
fn ephemeral(text: impl Into<String>) -> CreateInteractionResponse {
    CreateInteractionResponse::Message(
        CreateInteractionResponseMessage::new()
            .content(text)
            .ephemeral(true)
            .allowed_mentions(no_pings()),
    )
}

/// A reply of a line of text.
fn notice(text: &str) -> Reply {
    Reply {
        content: text.into(),
        embeds: Vec::new(),
        more: false,
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

pub(crate) struct Handler {
    pub bot: Arc<Bot>,
}

impl Handler {
    fn backoff(&self) -> Duration {
        Duration::from_millis(self.bot.config.retry_backoff_ms)
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
        if let Some(wait) = self.bot.cooldown(command.user.id) {
            let response = ephemeral(cooldown_notice(wait));
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
        // Asked in a thread the bot holds a conversation in: a turn of it.
        let in_thread = if private {
            None
        } else {
            self.bot.conversations.get(command.channel_id.get())
        };
        let mut conversation = in_thread.clone().unwrap_or_default();
        let asked = conversation.question(&question);
        let (reply, answer) = self.bot.reply(asked.clone()).await;
        let answered = answer.as_ref().is_some_and(Answer::answered);
        let key = command.id.get();
        self.bot
            .remember_more(key, &reply, &question, answer.as_ref());
        let votes = answer.as_ref().is_some_and(|a| {
            self.bot.log_answer(
                key,
                a,
                command.guild_id,
                command.channel_id,
                command.user.id,
            )
        });
        let edit = EditInteractionResponse::new()
            .content(reply.content.clone())
            .embeds(embeds(&reply))
            .components(reply_buttons(&reply, key, votes))
            .allowed_mentions(no_pings());
        let sent = with_retry(self.backoff(), "answer", || {
            command.edit_response(&ctx.http, edit.clone())
        })
        .await;
        if let (Some(answer), false) = (&answer, private) {
            conversation.record(asked, answer, self.bot.top());
            match (&in_thread, &sent) {
                (Some(_), _) => self
                    .bot
                    .conversations
                    .put(command.channel_id.get(), conversation),
                (None, Ok(message)) => {
                    // Kept before the thread exists: a thread started on a
                    // message has its id, and where none can be made, replies
                    // to the answer continue under that id all the same.
                    self.bot
                        .conversations
                        .put(message.id.get(), conversation.clone());
                    let thread = self
                        .start_thread(ctx, message.channel_id, message.id, &question)
                        .await;
                    if let Some(thread) = thread.filter(|t| t.get() != message.id.get()) {
                        self.bot.conversations.put(thread.get(), conversation);
                    }
                }
                (None, Err(_)) => {}
            }
        }
        log_question(
            "slash",
            command.guild_id,
            command.channel_id,
            started,
            answered,
            sent.err(),
        );
    }

    /// A 👍/👎 click: logged when it is the asker's, declined politely otherwise.
    async fn on_vote(&self, ctx: &Context, component: &ComponentInteraction) {
        let mut parts = component.data.custom_id.split(':');
        let (Some("vote"), Some(key), Some(way)) = (parts.next(), parts.next(), parts.next())
        else {
            return;
        };
        let Ok(key) = key.parse::<u64>() else {
            return;
        };
        let text = match (self.bot.ballots.get(key), &self.bot.feedback) {
            (Some((asker, answered)), Some(log)) if asker == component.user.id => {
                let vote = Record::vote(&answered, asker.get(), way == "up");
                if let Err(e) = log.append(&vote) {
                    warn!(error = %e, "could not write the feedback log");
                }
                "Thanks: your vote is noted."
            }
            (Some(_), _) => "Only the person who asked can vote on this answer.",
            (None, _) => "This answer is too old to vote on.",
        };
        let response = ephemeral(text);
        if let Err(e) = with_retry(self.backoff(), "vote", || {
            component.create_response(&ctx.http, response.clone())
        })
        .await
        {
            warn!(error = %e, "could not acknowledge a vote");
        }
    }

    /// Starts a thread named after `question` on `message`, for the
    /// conversation that follows; none where it cannot be made (no
    /// permission, a DM, a message inside a thread), and the answer then
    /// stays a plain reply that replies to it continue.
    async fn start_thread(
        &self,
        ctx: &Context,
        channel: ChannelId,
        message: MessageId,
        question: &str,
    ) -> Option<ChannelId> {
        let name = thread_name(question);
        match with_retry(self.backoff(), "start a thread", || {
            channel.create_thread_from_message(
                &ctx.http,
                message,
                CreateThread::new(name.clone()).auto_archive_duration(AutoArchiveDuration::OneDay),
            )
        })
        .await
        {
            Ok(thread) => Some(thread.id),
            Err(e) => {
                warn!(error = %e, "could not start a thread; answering with a plain reply");
                None
            }
        }
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
        let reply = match self.bot.questions.get(key) {
            Some(question) => {
                let top = from + render::DISCORD_MORE_PAGE + 1;
                match self.bot.answer(Question::new(question), top).await {
                    Some(answer) => render::discord_more(&answer, from),
                    None => notice("Sorry, I could not search the article just now."),
                }
            }
            None => notice("This question is too old to page through; please ask it again."),
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

/// A thread's name: the question, cut to Discord's 100 characters.
pub fn thread_name(question: &str) -> String {
    let name: String = question.chars().take(100).collect();
    if name.trim().is_empty() {
        "Question".into()
    } else {
        name
    }
}

#[async_trait]
impl EventHandler for Handler {
    async fn ready(&self, ctx: Context, ready: Ready) {
        let _ = self.bot.bot_id.set(ready.user.id);
        info!(shard = ?ready.shard.map(|s| s.id.0), guilds = ready.guilds.len(), "connected to Discord");
        // Every shard gets a READY; the commands are registered once per process.
        if self.bot.registered.swap(true, Ordering::SeqCst) {
            return;
        }
        let backoff = self.backoff();
        if let Err(e) = with_retry(backoff, "register /ask", || {
            Command::set_global_commands(&ctx.http, vec![ask_command()])
        })
        .await
        {
            warn!(error = %e, "could not register /ask globally");
            self.bot.registered.store(false, Ordering::SeqCst);
        }
        if let Some(guild) = self.bot.config.dev_guild {
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
        if self.bot.closing.load(Ordering::SeqCst) {
            return;
        }
        let _in_flight = InFlight::new(&self.bot.in_flight);
        match interaction {
            Interaction::Command(command) if command.data.name == "ask" => {
                if !self.bot.seen.first_time(command.id.get()) {
                    warn!(
                        id = command.id.get(),
                        "the same /ask arrived twice; answered once"
                    );
                    return;
                }
                self.on_ask(&ctx, &command).await;
            }
            Interaction::Component(component) if self.bot.seen.first_time(component.id.get()) => {
                if component.data.custom_id.starts_with("vote:") {
                    self.on_vote(&ctx, &component).await;
                } else {
                    self.on_more(&ctx, &component).await;
                }
            }
            _ => {}
        }
    }

    async fn message(&self, ctx: Context, msg: Message) {
        let Some(bot) = self.bot.bot_id.get().copied() else {
            return;
        };
        if msg.author.bot || self.bot.closing.load(Ordering::SeqCst) {
            return;
        }
        // The conversation it continues: the thread's it was written in, or
        // that of the bot's answer it replies to.
        let replied_to = msg
            .referenced_message
            .as_ref()
            .filter(|m| m.author.id == bot)
            .map(|m| m.id.get());
        let continued = [Some(msg.channel_id.get()), replied_to]
            .into_iter()
            .flatten()
            .find_map(|key| Some((key, self.bot.conversations.get(key)?)));
        let mentioned = msg.mentions_user_id(bot);
        let question = mention_question(&msg.content, bot.get());
        // Without the message-content intent a message that does not mention
        // the bot arrives empty: nothing to answer.
        if !mentioned && (continued.is_none() || question.is_empty()) {
            return;
        }
        let _in_flight = InFlight::new(&self.bot.in_flight);
        if !self.bot.seen.first_time(msg.id.get()) {
            warn!(
                id = msg.id.get(),
                "the same message arrived twice; answered once"
            );
            return;
        }
        let started = Instant::now();
        let mut conversation = continued
            .as_ref()
            .map(|(_, c)| c.clone())
            .unwrap_or_default();
        let asked = conversation.question(&question);
        let (reply, answer) = if let Some(wait) = self.bot.cooldown(msg.author.id) {
            (notice(&cooldown_notice(wait)), None)
        } else if question.is_empty() {
            let greeting = render::discord_reply(&Answer::empty("", Verdict::Greeting));
            (greeting, None)
        } else {
            self.bot.reply(asked.clone()).await
        };
        let answered = answer.as_ref().is_some_and(Answer::answered);
        let key = msg.id.get();
        self.bot
            .remember_more(key, &reply, &question, answer.as_ref());
        // A new question is answered in a thread started on it; a follow-up
        // (or an answer where no thread can be made) as a reply to it.
        let thread = match (&continued, &answer) {
            (None, Some(_)) => {
                self.start_thread(&ctx, msg.channel_id, msg.id, &question)
                    .await
            }
            _ => None,
        };
        // Kept before the answer is sent, so a quick follow-up finds it.
        let home = thread
            .map(ChannelId::get)
            .or(continued.as_ref().map(|(key, _)| *key));
        if let Some(answer) = &answer {
            conversation.record(asked, answer, self.bot.top());
            if let Some(home) = home {
                self.bot.conversations.put(home, conversation.clone());
            }
        }
        let votes = answer.as_ref().is_some_and(|a| {
            self.bot
                .log_answer(key, a, msg.guild_id, msg.channel_id, msg.author.id)
        });
        let mut message = CreateMessage::new()
            .content(reply.content.clone())
            .embeds(embeds(&reply))
            .components(reply_buttons(&reply, key, votes))
            .allowed_mentions(no_pings());
        if thread.is_none() {
            message = message.reference_message(&msg);
        }
        let channel = thread.unwrap_or(msg.channel_id);
        let sent = with_retry(self.backoff(), "mention reply", || {
            channel.send_message(&ctx.http, message.clone())
        })
        .await;
        // Replies to this answer continue the conversation too, thread or not.
        if let (Some(_), Ok(sent)) = (&answer, &sent) {
            self.bot.conversations.put(sent.id.get(), conversation);
        }
        log_question(
            if continued.is_some() {
                "follow-up"
            } else {
                "mention"
            },
            msg.guild_id,
            msg.channel_id,
            started,
            answered,
            sent.err(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
