//! The bot's events: `/ask`, "More passages" clicks and messages that
//! mention it, each answered from the library's current engine.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use serenity::all::{
    Command, CommandDataOptionValue, CommandInteraction, ComponentInteraction, Context,
    CreateInteractionResponse, CreateInteractionResponseMessage, CreateMessage,
    EditInteractionResponse, EventHandler, GuildId, Interaction, Message, Ready, UserId,
};
use serenity::async_trait;
use tracing::{info, warn};

use super::send::{
    ask_command, cooldown_notice, embeds, log_question, more_button, no_pings, with_retry,
};
use super::state::{Cooldowns, Questions, Seen};
use crate::answer::{Answer, Question, Verdict};
use crate::config::DiscordConfig;
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
    pub in_flight: AtomicUsize,
    /// Shutting down: no new questions.
    pub closing: AtomicBool,
}

impl Bot {
    pub fn new(library: Arc<Library>, config: DiscordConfig) -> Self {
        Bot {
            library,
            config,
            bot_id: OnceLock::new(),
            registered: AtomicBool::new(false),
            seen: Seen::default(),
            cooldowns: Cooldowns::default(),
            questions: Questions::default(),
            in_flight: AtomicUsize::new(0),
            closing: AtomicBool::new(false),
        }
    }

    fn cooldown(&self, user: UserId) -> Option<Duration> {
        let period = Duration::from_secs_f32(self.config.cooldown_secs.max(0.0));
        self.cooldowns.check(user, period)
    }

    /// Answers `question` with `top` passages, on a blocking thread so the
    /// gateway's threads never wait on a search. Should the search fail or
    /// panic (the index damaged under the running bot), the library checks
    /// the index, rebuilds it from the corpus if damaged, and the question is
    /// asked once more.
    async fn answer(&self, question: &str, top: usize) -> Option<Answer> {
        let question = Arc::new(Question::new(question));
        for retry in [false, true] {
            let engine = self.library.engine();
            let (asked, searching) = (Arc::clone(&question), Arc::clone(&engine));
            let failure =
                match tokio::task::spawn_blocking(move || searching.ask(&asked, top)).await {
                    Ok(Ok(answer)) => return Some(answer),
                    Ok(Err(e)) => e.to_string(),
                    Err(e) => format!("the search panicked: {e}"),
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

    async fn reply(&self, question: &str) -> (Reply, bool) {
        let top = self.config.passages.max(render::DISCORD_FIRST_PAGE);
        match self.answer(question, top).await {
            Some(answer) => (render::discord_reply(&answer), answer.answered()),
            None => (
                notice("Sorry, I could not search the article just now; please try again."),
                false,
            ),
        }
    }
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
        let (reply, answered) = self.bot.reply(&question).await;
        let key = command.id.get();
        if reply.more {
            self.bot.questions.remember(key, &question);
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
        let reply = match self.bot.questions.get(key) {
            Some(question) => {
                let top = from + render::DISCORD_MORE_PAGE + 1;
                match self.bot.answer(&question, top).await {
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
                self.on_more(&ctx, &component).await;
            }
            _ => {}
        }
    }

    async fn message(&self, ctx: Context, msg: Message) {
        let Some(bot) = self.bot.bot_id.get().copied() else {
            return;
        };
        if msg.author.bot || !msg.mentions_user_id(bot) || self.bot.closing.load(Ordering::SeqCst) {
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
        let question = mention_question(&msg.content, bot.get());
        let (reply, answered) = if let Some(wait) = self.bot.cooldown(msg.author.id) {
            (notice(&cooldown_notice(wait)), false)
        } else if question.is_empty() {
            let greeting = render::discord_reply(&Answer::empty("", Verdict::Greeting));
            (greeting, false)
        } else {
            self.bot.reply(&question).await
        };
        let key = msg.id.get();
        if reply.more {
            self.bot.questions.remember(key, &question);
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
