//! The index's schema: which fields a passage has, how its place in the
//! corpus is packed into one stored value, and the tokenizer that hands
//! tantivy the stems [`crate::analysis::index_terms`] made.

use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, STORED};
use tantivy::Index as TantivyIndex;

use crate::corpus::BlockKind;

/// Bumped whenever analysis, passage splitting or the schema changes, so old
/// indexes rebuild themselves.
pub const SCHEMA_VERSION: u32 = 16;

/// Fields fed with strings [`crate::analysis::index_terms`] made, so the text is analysed once.
pub(crate) const PRE_ANALYSED: &str = "citebot_pre_analysed";

#[derive(Clone, Copy)]
pub(crate) struct Fields {
    pub body: Field,
    pub heading: Field,
    pub text: Field,
    pub place: Field,
}

pub(crate) fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let indexed = |tokenizer: &str, record: IndexRecordOption| {
        TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(record),
        )
    };
    let fields = Fields {
        // No positions: nearness is read from the passage's own analysis, never from postings.
        body: b.add_text_field("body", indexed(PRE_ANALYSED, IndexRecordOption::WithFreqs)),
        heading: b.add_text_field(
            "heading",
            indexed(PRE_ANALYSED, IndexRecordOption::WithFreqs),
        ),
        text: b.add_text_field("text", STORED),
        // The rest of a passage as one value (see `Place`).
        place: b.add_bytes_field("place", STORED),
    };
    (b.build(), fields)
}

pub(crate) fn register_tokenizers(index: &TantivyIndex) {
    let manager = index.tokenizers();
    manager.register(PRE_ANALYSED, PreAnalysedTokenizer);
}

/// Reads [`crate::analysis::IndexTerms::stems`] strings back into tokens. Their terms are alphanumeric, so the separators are unambiguous.
#[derive(Clone)]
pub struct PreAnalysedTokenizer;

impl tantivy::tokenizer::Tokenizer for PreAnalysedTokenizer {
    type TokenStream<'a> = PreAnalysedStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> PreAnalysedStream<'a> {
        PreAnalysedStream {
            text,
            at: 0,
            position: 0,
            token: tantivy::tokenizer::Token::default(),
        }
    }
}

/// Tokens read one at a time into one reused [`tantivy::tokenizer::Token`]:
/// indexing allocates nothing per token.
pub struct PreAnalysedStream<'a> {
    text: &'a str,
    at: usize,
    /// Position of the next token.
    position: usize,
    token: tantivy::tokenizer::Token,
}

impl tantivy::tokenizer::TokenStream for PreAnalysedStream<'_> {
    fn advance(&mut self) -> bool {
        let bytes = self.text.as_bytes();
        while self.at <= bytes.len() {
            let start = self.at;
            let end = bytes[start..]
                .iter()
                .position(|&b| b == b' ' || b == b'|')
                .map_or(bytes.len(), |i| start + i);
            self.at = end + 1;
            if end > start {
                let token = &mut self.token;
                token.text.clear();
                token.text.push_str(&self.text[start..end]);
                token.offset_from = start;
                token.offset_to = end;
                token.position = self.position;
                token.position_length = 1;
                // A `|` puts the next form at the same place; a space moves on.
                if bytes.get(end) != Some(&b'|') {
                    self.position += 1;
                }
                return true;
            }
        }
        false
    }

    fn token(&self) -> &tantivy::tokenizer::Token {
        &self.token
    }

    fn token_mut(&mut self) -> &mut tantivy::tokenizer::Token {
        &mut self.token
    }
}

/// Where a passage is and what it is, stored as one value: tantivy's cost is
/// per stored value, and six of them a passage were 6 % of a 100 MB build.
/// Varints (file, lines, ordinal, fragment edge), a kind byte, then the section's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Place<'a> {
    /// The file's number in the manifest, which holds its path and title.
    pub file: u64,
    pub lines: [u32; 2],
    pub ordinal: u32,
    pub kind: BlockKind,
    /// Words a link's text fragment quotes at a sentence's ends (`citation::fragment_edge`).
    pub fragment_edge: u8,
    /// Empty outside any section.
    pub section: &'a str,
}

impl Default for Place<'_> {
    fn default() -> Self {
        Place {
            file: u64::MAX,
            lines: [0, 0],
            ordinal: 0,
            kind: BlockKind::Paragraph,
            fragment_edge: crate::citation::FRAGMENT_EDGE,
            section: "",
        }
    }
}

impl<'a> Place<'a> {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + self.section.len());
        let numbers = [
            self.file,
            self.lines[0].into(),
            self.lines[1].into(),
            self.ordinal.into(),
            self.fragment_edge.into(),
        ];
        for mut n in numbers {
            while n >= 0x80 {
                out.push((n as u8) | 0x80);
                n >>= 7;
            }
            out.push(n as u8);
        }
        out.push(match self.kind {
            BlockKind::Paragraph => 0,
            BlockKind::ListItem => 1,
            BlockKind::Caption => 2,
        });
        out.extend_from_slice(self.section.as_bytes());
        out
    }

    pub fn decode(mut bytes: &'a [u8]) -> Option<Place<'a>> {
        let mut number = || -> Option<u64> {
            let mut n = 0u64;
            for shift in (0..64).step_by(7) {
                let (&b, rest) = bytes.split_first()?;
                bytes = rest;
                n |= u64::from(b & 0x7f) << shift;
                if b < 0x80 {
                    return Some(n);
                }
            }
            None
        };
        let file = number()?;
        let mut small = || u32::try_from(number()?).ok();
        let (lines, ordinal) = ([small()?, small()?], small()?);
        let fragment_edge = u8::try_from(number()?).ok()?;
        let (&kind, section) = bytes.split_first()?;
        Some(Place {
            file,
            lines,
            ordinal,
            fragment_edge,
            kind: match kind {
                1 => BlockKind::ListItem,
                2 => BlockKind::Caption,
                _ => BlockKind::Paragraph,
            },
            section: std::str::from_utf8(section).ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_reads_back_as_written_and_damage_reads_as_none() {
        let places = [
            Place::default(),
            Place {
                file: 8_414,
                lines: [1, u32::MAX],
                ordinal: 300,
                kind: BlockKind::Caption,
                fragment_edge: 12,
                section: "Vectors › Non-viral vectors — β-globin",
            },
            Place {
                file: u64::MAX - 1,
                lines: [127, 128],
                ordinal: 0,
                kind: BlockKind::ListItem,
                fragment_edge: 5,
                section: "",
            },
        ];
        for place in places {
            let bytes = place.encode();
            assert_eq!(Place::decode(&bytes), Some(place.clone()));
            // Cut short anywhere before the kind byte, or not UTF-8: no place, no panic.
            let numbers = bytes.len() - place.section.len() - 1;
            for end in 0..=numbers {
                assert_eq!(Place::decode(&bytes[..end]), None);
            }
        }
        let mut bad_text = Place::default().encode();
        bad_text.push(0xff);
        assert_eq!(Place::decode(&bad_text), None);
        // A varint that never ends.
        assert_eq!(Place::decode(&[0x80; 12]), None);
    }

    #[test]
    fn pre_analysed_streams_give_back_the_content_stems_with_their_forms() {
        use tantivy::tokenizer::{TokenStream, Tokenizer};
        let stream = crate::analysis::index_terms("The CAR-T cells deliver AAV9").stems;
        // Stop words ("the", the "t" of "CAR-T") are not indexed; extra forms stay with their word.
        assert_eq!(stream, "car|cart cell deliv aav9|aav");
        let mut tokenizer = PreAnalysedTokenizer;
        let mut tokens = tokenizer.token_stream(&stream);
        let mut got = Vec::new();
        while tokens.advance() {
            got.push((tokens.token().text.clone(), tokens.token().position as u32));
        }
        let expected = [
            ("car", 0),
            ("cart", 0),
            ("cell", 1),
            ("deliv", 2),
            ("aav9", 3),
            ("aav", 3),
        ];
        assert_eq!(
            got,
            expected.map(|(stem, position)| (stem.to_string(), position))
        );
        // Runs of separators add nothing, and nothing is left over at the end.
        let mut tokens = tokenizer.token_stream("  a||b  c ");
        let mut got = Vec::new();
        while tokens.advance() {
            got.push((tokens.token().text.clone(), tokens.token().position));
        }
        assert_eq!(got, [("a".into(), 0), ("b".into(), 0), ("c".into(), 1)]);
        assert!(!tokens.advance());
    }
}
