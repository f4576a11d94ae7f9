//! Answers as people and programs read them: a terminal ([`text`]), scripts
//! ([`json`]) and Discord ([`discord`]). Each takes an [`Answer`](crate::answer::Answer)
//! and nothing of the engine.

pub mod discord;
pub mod json;
pub mod text;

use crate::passages::Citation;

pub use self::discord::{
    cut, discord_more, discord_reply, escape_markdown, limits, within_limits, Embed, Reply,
    DISCORD_FIRST_PAGE, DISCORD_MORE_PAGE,
};
pub use json::{error_line, json, json_line, JsonAnswer, JsonPassage};
pub use text::{batch_line, text, Style};

pub const USAGE_HINT: &str = "Ask me a question about the article, for example: \
\"how are AAV vectors delivered?\" or \"why can AAV vectors only be injected once?\"";

pub const NOT_COVERED: &str = "The article does not cover this question.";

pub fn citation_line(citation: &Citation) -> String {
    format!("{} · {}{}", citation.section, citation.file, citation.span)
}
