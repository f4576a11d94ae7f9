//! `citebot serve`: the Discord bot. serenity runs the gateway and REST;
//! [`handler`] answers `/ask`, mentions and "More passages" with
//! [`render::discord_reply`](crate::render::discord_reply), [`state`] keeps
//! what it remembers bounded, [`send`] builds and retries what it sends, and
//! the [`Library`] swaps in a new index when the corpus is edited or another
//! process rebuilds it.

mod batch;
mod handler;
mod send;
mod state;

pub use handler::mention_question;

use std::future::Future;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serenity::all::{Client, ClientBuilder, GatewayIntents, HttpBuilder};
use tracing::{info, warn};

use crate::config::Config;
use crate::library::{Library, Reload, Watch};
use handler::{Bot, Handler};

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

const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Every `poll`, looks for an index rebuilt by another process (reopens it),
/// index files changed on disk (checks them, rebuilds if damaged) and a corpus
/// edit (rebuilds once the files hold still), swapping the engine without a
/// restart; the looks run off the async threads.
async fn watch(
    library: Arc<Library>,
    poll: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut state = Watch::default();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = stop.changed() => return,
        }
        let library = Arc::clone(&library);
        let looked = tokio::task::spawn_blocking(move || {
            let reload = library.reload(&mut state);
            (state, reload)
        })
        .await;
        let reload;
        (state, reload) = match looked {
            Ok(looked) => looked,
            Err(e) => {
                warn!(error = %e, "looking for a new index panicked");
                (Watch::default(), Reload::Unchanged)
            }
        };
        match reload {
            Reload::Unchanged => {}
            Reload::Switched { generation } => {
                info!(%generation, "switched to the rebuilt index")
            }
            Reload::Repaired { generation } => {
                warn!(%generation, "the index was damaged on disk; rebuilt it from the corpus")
            }
            Reload::Rebuilt {
                generation,
                passages,
                skipped,
            } => {
                info!(%generation, passages, "the corpus changed; rebuilt the index");
                for why in skipped {
                    warn!("{why}");
                }
            }
            Reload::Failed(e) => warn!(
                error = %e,
                "the new index cannot be used; the previous one keeps answering"
            ),
        }
    }
}

/// Runs the bot until `shutdown` completes, then stops taking questions,
/// lets the ones in flight finish, and closes the gateway.
pub async fn serve(
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (corpus, index_dir, config) = (
        options.corpus.clone(),
        options.index.clone(),
        options.config.clone(),
    );
    let library = tokio::task::spawn_blocking(move || {
        Library::open(&corpus, &index_dir, config, &mut |message| {
            info!("{message}")
        })
    })
    .await
    .context("opening the index panicked")??;
    let library = Arc::new(library);
    let bot = Arc::new(Bot::new(
        Arc::clone(&library),
        options.config.discord.clone(),
    ));

    let mut http = HttpBuilder::new(&options.token.0);
    if let Some(base) = &options.api_base {
        // serenity's ratelimiter would re-send through discord.com, bypassing the base.
        http = http
            .proxy(base.trim_end_matches('/'))
            .ratelimiter_disabled(true);
    }
    let mut intents = GatewayIntents::GUILD_MESSAGES | GatewayIntents::DIRECT_MESSAGES;
    if options.config.discord.message_content {
        // Privileged: without it a follow-up that does not mention the bot arrives empty.
        intents |= GatewayIntents::MESSAGE_CONTENT;
    }
    let mut client: Client = ClientBuilder::new_with_http(http.build(), intents)
        .event_handler(Handler {
            bot: Arc::clone(&bot),
        })
        .await
        .context("cannot start the Discord client")?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let poll = Duration::from_millis(options.config.discord.reload_poll_ms.max(50));
    let watcher = tokio::spawn(watch(library, poll, stop_rx));

    let shard_manager = Arc::clone(&client.shard_manager);
    let closing = Arc::clone(&bot);
    let closer = tokio::spawn(async move {
        shutdown.await;
        info!("shutting down: no new questions, finishing the ones in flight");
        closing.closing.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        while closing.in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
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
    match result {
        Err(serenity::Error::Gateway(
            serenity::gateway::GatewayError::DisallowedGatewayIntents,
        )) => {
            anyhow::bail!(
                "Discord refused the Message Content intent: turn it on in the developer portal \
                 (your application → Bot → Privileged Gateway Intents), or set [discord] \
                 message_content = false (follow-ups in a thread then need a mention)"
            )
        }
        other => other.context("the Discord connection failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_never_prints() {
        let token = Token::new("secret-token-value");
        assert_eq!(format!("{token:?}"), "Token(redacted)");
    }
}
