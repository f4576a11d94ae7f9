//! Plain text: a block a run of non-blank lines.

use super::{collapse_space, Block, BlockKind, Document};

pub(super) fn parse(path: &str, text: &str) -> Document {
    let mut blocks = Vec::new();
    // Lines are numbered as they are read; a blank one (or the end) closes a paragraph.
    let mut paragraph: Vec<&str> = Vec::new();
    let mut first_line = 1;
    let lines = text.split_inclusive('\n').chain(std::iter::once(""));
    for (line, number) in lines.zip(1u32..) {
        if !line.trim().is_empty() {
            if paragraph.is_empty() {
                first_line = number;
            }
            paragraph.push(line);
        } else if !paragraph.is_empty() {
            let joined = collapse_space(paragraph.drain(..));
            if !joined.is_empty() {
                blocks.push(Block {
                    kind: BlockKind::Paragraph,
                    section: Vec::new(),
                    text: joined,
                    lines: (first_line, number - 1),
                    gap: false,
                });
            }
        }
    }
    Document::untitled(path, blocks)
}
