//! What the bot sends and how: replies as serenity builders, with nobody
//! ever pinged, REST calls retried when Discord refuses them for a while, and
//! the one log line per question.

use std::future::Future;
use std::time::{Duration, Instant};

use serenity::all::{
    ButtonStyle, ChannelId, CommandOptionType, CreateActionRow, CreateAllowedMentions,
    CreateButton, CreateCommand, CreateCommandOption, CreateEmbed, CreateEmbedFooter, GuildId,
};
use serenity::http::HttpError;
use tracing::{info, warn};

use crate::render::Reply;

pub(crate) fn embeds(reply: &Reply) -> Vec<CreateEmbed> {
    reply
        .embeds
        .iter()
        .map(|e| {
            let mut embed = CreateEmbed::new()
                .title(&e.title)
                .description(&e.description)
                .colour(e.color);
            if let Some(url) = &e.url {
                embed = embed.url(url);
            }
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

pub(crate) fn more_button(reply: &Reply, key: u64, from: usize) -> Vec<CreateActionRow> {
    if !reply.more {
        return Vec::new();
    }
    let button = CreateButton::new(format!("more:{key}:{from}"))
        .label("More passages")
        .style(ButtonStyle::Secondary);
    vec![CreateActionRow::Buttons(vec![button])]
}

/// A first reply's buttons: "More passages" when there are more, and 👍/👎
/// on an answer when votes are logged.
pub(crate) fn reply_buttons(reply: &Reply, key: u64, votes: bool) -> Vec<CreateActionRow> {
    let mut rows = more_button(reply, key, crate::render::DISCORD_FIRST_PAGE);
    if votes {
        rows.push(CreateActionRow::Buttons(vec![
            CreateButton::new(format!("vote:{key}:up"))
                .emoji('👍')
                .style(ButtonStyle::Secondary),
            CreateButton::new(format!("vote:{key}:down"))
                .emoji('👎')
                .style(ButtonStyle::Secondary),
        ]));
    }
    rows
}

/// Nobody is ever pinged by what the bot writes.
pub(crate) fn no_pings() -> CreateAllowedMentions {
    CreateAllowedMentions::new().replied_user(false)
}

/// Runs a REST call, waiting and retrying when Discord answers 429 (rate
/// limited) or a 5xx. serenity 0.12 does not hand back the body's
/// `retry_after`, so the wait is the configured backoff, doubled each try.
pub(crate) async fn with_retry<T, F, Fut>(
    backoff: Duration,
    what: &str,
    mut call: F,
) -> serenity::Result<T>
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
pub(crate) fn log_question(
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

pub(crate) fn cooldown_notice(wait: Duration) -> String {
    format!(
        "One question at a time, please: you can ask again in {:.0} s.",
        wait.as_secs_f32().ceil()
    )
}

pub(crate) fn ask_command() -> CreateCommand {
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
