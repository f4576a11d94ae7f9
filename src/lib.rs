//! citebot answers questions about an article with the passages that answer
//! them, each with a citation a reader can check.
//!
//! The pipeline flows one way: [`corpus`] files → [`passages`] → [`index`]
//! (tantivy, analysed by [`analysis`], with a [`lexicon`] of equivalent
//! wordings) → [`search`] (ranked [`search::Hit`]s in an [`search::Answer`]) →
//! [`render`] → terminal, JSON or [`discord`]. [`eval`] measures answer
//! quality; [`cli`] wires the commands.

pub mod analysis;
pub mod cli;
pub mod config;
pub mod corpus;
pub mod discord;
mod error;
pub mod eval;
pub mod index;
pub mod lexicon;
pub mod passages;
pub mod render;
pub mod search;

pub use error::Error;
