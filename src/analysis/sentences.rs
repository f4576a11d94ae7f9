//! Sentences and list lines: where a best sentence can start and end.

use std::ops::Range;

use unicode_segmentation::UnicodeSegmentation;

use super::segment;

/// Where the sentences of `text` start (UAX #29, as `split_sentence_bound_indices`
/// gives them), line by line so that lines of ASCII and common Latin text take
/// the fast path: a line break always ends a sentence, so nothing is lost by
/// cutting there first.
pub fn sentence_starts(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        if segment::is_one_sentence(line) {
            out.push(line_start);
        } else if let Some(ends) = if line.is_ascii() {
            Some(segment::ascii_sentence_ends(line.as_bytes()))
        } else {
            segment::known_sentence_ends(line)
        } {
            out.push(line_start);
            let inner = ends.len().saturating_sub(1);
            out.extend(ends[..inner].iter().map(|end| line_start + end));
        } else {
            out.extend(
                line.split_sentence_bound_indices()
                    .map(|(offset, _)| line_start + offset),
            );
        }
        line_start += line.len();
    }
    out
}

/// Sentences with their byte offsets; list lines count as sentences too.
pub fn sentences(text: &str) -> Vec<(usize, &str)> {
    sentence_slices(text).collect()
}

fn sentence_slices(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let starts = sentence_starts(text);
    (0..starts.len())
        .map(move |i| {
            let end = starts.get(i + 1).copied().unwrap_or(text.len());
            (starts[i], &text[starts[i]..end])
        })
        .filter(|(_, sentence)| !sentence.trim().is_empty())
}

/// Byte ranges of the sentences and list lines of `text`, without surrounding space.
pub(super) fn sentence_spans(text: &str) -> Vec<Range<usize>> {
    sentence_slices(text)
        .map(|(start, sentence)| {
            let trimmed = sentence.trim_end();
            let lead = trimmed.len() - trimmed.trim_start().len();
            start + lead..start + trimmed.len()
        })
        .collect()
}
