//! Unicode's word and sentence boundaries (UAX #29) for ASCII text (and, for
//! sentences, common Latin text too), worked out directly: the same boundaries
//! as `unicode-segmentation` (property tests hold them to it), several times
//! faster. Splitting every passage into words and sentences was a fifth of
//! indexing. Other text goes through the crate.

use unicode_segmentation::UnicodeSegmentation;

/// The word boundaries of `text`, as `split_word_bound_indices` gives them.
pub fn word_bounds(text: &str) -> WordBounds<'_> {
    // Most texts are all ASCII: one piece, found without looking for cuts.
    let piece_end = if text.is_ascii() { text.len() } else { 0 };
    WordBounds {
        text,
        at: 0,
        piece_end,
        unicode: None,
    }
}

/// Walks `text` in pieces, each cut just before a space that follows another
/// ASCII character: a word boundary falls there whatever comes around it, so
/// the pieces can be segmented apart. ASCII pieces take the fast path, the
/// others go through the crate; one accented word no longer sends its whole
/// passage down the slow path.
pub struct WordBounds<'a> {
    text: &'a str,
    at: usize,
    piece_end: usize,
    unicode: Option<(usize, unicode_segmentation::UWordBoundIndices<'a>)>,
}

impl WordBounds<'_> {
    /// Starts the piece at `self.at`; false at the end of the text.
    fn next_piece(&mut self) -> bool {
        let bytes = self.text.as_bytes();
        let start = self.at;
        if start >= bytes.len() {
            return false;
        }
        let mut ascii = true;
        let mut end = start + 1;
        while end < bytes.len()
            && !(bytes[end] == b' ' && bytes[end - 1] != b' ' && bytes[end - 1].is_ascii())
        {
            ascii &= bytes[end].is_ascii();
            end += 1;
        }
        ascii &= bytes[start].is_ascii();
        self.piece_end = end;
        self.unicode = (!ascii).then(|| (start, self.text[start..end].split_word_bound_indices()));
        true
    }
}

/// Word-break classes of the ASCII characters that take part in a rule.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WordClass {
    Letter,
    Numeric,
    /// `_`
    ExtendNumLet,
    /// `:`
    MidLetter,
    /// `,` `;`
    MidNum,
    /// `.` `'`
    MidNumLetQ,
    Other,
}

#[inline]
fn word_class(b: u8) -> WordClass {
    WORD_CLASSES[usize::from(b)]
}

static WORD_CLASSES: [WordClass; 256] = {
    let mut table = [WordClass::Other; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            b'a'..=b'z' | b'A'..=b'Z' => WordClass::Letter,
            b'0'..=b'9' => WordClass::Numeric,
            b'_' => WordClass::ExtendNumLet,
            b':' => WordClass::MidLetter,
            b',' | b';' => WordClass::MidNum,
            b'.' | b'\'' => WordClass::MidNumLetQ,
            _ => WordClass::Other,
        };
        b += 1;
    }
    table
};

/// The end of the word-like segment starting at `start` of an ASCII text, if
/// one starts there (a letter, digit or `_`).
pub fn ascii_word_at(bytes: &[u8], start: usize) -> Option<usize> {
    matches!(
        word_class(bytes[start]),
        WordClass::Letter | WordClass::Numeric | WordClass::ExtendNumLet
    )
    .then(|| ascii_word_end(bytes, start))
}

/// The end of the word-like segment starting at `start` (a letter, digit or `_`).
fn ascii_word_end(bytes: &[u8], start: usize) -> usize {
    use WordClass::*;
    let mut end = start + 1;
    loop {
        // Runs of letters and digits, the bulk of any text, without the rules.
        end += bytes[end..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .count();
        if end >= bytes.len() {
            break;
        }
        let (before, here) = (word_class(bytes[end - 1]), word_class(bytes[end]));
        let after = bytes.get(end + 1).map(|&b| word_class(b));
        let joins = match (before, here) {
            (Letter | Numeric | ExtendNumLet, Letter | Numeric | ExtendNumLet) => true,
            // "can't", "e.g", "3.5", "1,000": a middle mark between two of a kind.
            (Letter, MidLetter | MidNumLetQ) => after == Some(Letter),
            (Numeric, MidNum | MidNumLetQ) => after == Some(Numeric),
            _ => false,
        };
        if !joins {
            break;
        }
        end += if matches!(here, MidLetter | MidNum | MidNumLetQ) {
            2
        } else {
            1
        };
    }
    end
}

impl<'a> Iterator for WordBounds<'a> {
    type Item = (usize, &'a str);

    fn next(&mut self) -> Option<(usize, &'a str)> {
        if self.at >= self.piece_end && !self.next_piece() {
            return None;
        }
        if let Some((offset, inner)) = &mut self.unicode {
            if let Some((start, segment)) = inner.next() {
                self.at = *offset + start + segment.len();
                return Some((*offset + start, segment));
            }
            self.unicode = None;
            return self.next();
        }
        let text = self.text;
        // The piece is ASCII: the text up to its end reads the same as it alone.
        let bytes = &text.as_bytes()[..self.piece_end];
        let start = self.at;
        let first = bytes[start];
        let end = match first {
            b'\r' if bytes.get(start + 1) == Some(&b'\n') => start + 2,
            b' ' => start + bytes[start..].iter().take_while(|&&b| b == b' ').count(),
            _ if matches!(
                word_class(first),
                WordClass::Letter | WordClass::Numeric | WordClass::ExtendNumLet
            ) =>
            {
                ascii_word_end(bytes, start)
            }
            _ => start + 1,
        };
        self.at = end;
        Some((start, &text[start..end]))
    }
}

/// How many segments of an ASCII `text` hold a letter or digit: what
/// counting [`word_bounds`]' word segments gives, without making them.
/// Passages are sized in these words.
pub fn ascii_word_count(text: &[u8]) -> usize {
    let mut count = 0;
    let mut at = 0;
    while at < text.len() {
        if let Some(end) = ascii_word_at(text, at) {
            count += usize::from(text[at..end].iter().any(u8::is_ascii_alphanumeric));
            at = end;
        } else {
            // Spaces, line breaks and marks: never part of a word, whatever groups them.
            at += 1;
        }
    }
    count
}

/// Sentence-break classes (UAX #29) of the characters the fast path knows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sb {
    Upper,
    Lower,
    Numeric,
    ATerm,
    STerm,
    Close,
    Sp,
    SContinue,
    Cr,
    Lf,
    Other,
}

/// The class of an ASCII byte (callers pass ASCII only; the mask keeps the lookup in bounds).
#[inline]
fn ascii_sentence_class(b: u8) -> Sb {
    SENTENCE_CLASSES[usize::from(b & 0x7F)]
}

static SENTENCE_CLASSES: [Sb; 128] = {
    let mut table = [Sb::Other; 128];
    let mut b = 0;
    while b < 128 {
        table[b] = match b as u8 {
            b'A'..=b'Z' => Sb::Upper,
            b'a'..=b'z' => Sb::Lower,
            b'0'..=b'9' => Sb::Numeric,
            b'.' => Sb::ATerm,
            b'!' | b'?' => Sb::STerm,
            b'"' | b'\'' | b'(' | b')' | b'[' | b']' | b'{' | b'}' => Sb::Close,
            b' ' | b'\t' | 0x0B | 0x0C => Sb::Sp,
            b',' | b'-' | b':' | b';' => Sb::SContinue,
            b'\r' => Sb::Cr,
            b'\n' => Sb::Lf,
            _ => Sb::Other,
        };
        b += 1;
    }
    table
};

/// The class of a character of the common non-ASCII ranges of English text
/// (Latin-1 and Latin Extended-A letters, quotes, dashes, arrows, box
/// drawing, geometric shapes); `None` for the rest, which goes through the crate.
fn sentence_class(c: char) -> Option<Sb> {
    if c.is_ascii() {
        return Some(ascii_sentence_class(c as u8));
    }
    Some(match c {
        '\u{A0}' => Sb::Sp,
        'ª' | 'µ' | 'º' => Sb::Lower,
        '«' | '»' | '\u{2018}'..='\u{201F}' | '‹' | '›' => Sb::Close,
        '×' | '÷' => Sb::Other,
        '\u{C0}'..='\u{17F}' if c.is_uppercase() => Sb::Upper,
        '\u{C0}'..='\u{17F}' if c.is_lowercase() => Sb::Lower,
        '–' | '—' => Sb::SContinue,
        '\u{A2}'..='\u{A9}'
        | '¬'
        | '\u{AE}'..='\u{B1}'
        | '´'
        | '¶'..='¸'
        | '¼'..='¾'
        | '\u{2010}'..='\u{2012}'
        | '\u{2015}'..='\u{2017}'
        | '\u{2020}'..='\u{2023}'
        | '\u{2025}'..='\u{2027}'
        | '\u{2030}'..='\u{2038}'
        | '※'
        | '\u{2190}'..='\u{21FF}'
        | '\u{2500}'..='\u{25FF}' => Sb::Other,
        _ => return None,
    })
}

/// A line as sentence-break classes, one a character, with byte offsets.
trait Classes {
    /// Characters in the line.
    fn len(&self) -> usize;
    fn class(&self, i: usize) -> Sb;
    /// Byte offset of character `i`; `offset(len())` is the line's length.
    fn offset(&self, i: usize) -> usize;
}

struct AsciiLine<'a>(&'a [u8]);

impl Classes for AsciiLine<'_> {
    fn len(&self) -> usize {
        self.0.len()
    }
    #[inline]
    fn class(&self, i: usize) -> Sb {
        ascii_sentence_class(self.0[i])
    }
    fn offset(&self, i: usize) -> usize {
        i
    }
}

struct KnownLine {
    classes: Vec<Sb>,
    offsets: Vec<usize>,
}

impl KnownLine {
    /// `None` if a character of `line` is outside the ranges the fast path knows.
    fn of(line: &str) -> Option<KnownLine> {
        let mut classes = Vec::with_capacity(line.len());
        let mut offsets = Vec::with_capacity(line.len() + 1);
        for (offset, c) in line.char_indices() {
            classes.push(sentence_class(c)?);
            offsets.push(offset);
        }
        offsets.push(line.len());
        Some(KnownLine { classes, offsets })
    }
}

impl Classes for KnownLine {
    fn len(&self) -> usize {
        self.classes.len()
    }
    fn class(&self, i: usize) -> Sb {
        self.classes[i]
    }
    fn offset(&self, i: usize) -> usize {
        self.offsets[i]
    }
}

/// The ends of the sentences of an ASCII line, by the rules of Unicode's
/// sentence segmentation (UAX #29): the same as `split_sentence_bound_indices`
/// (a test holds it to that), several times faster, which matters at index
/// time when every passage is split.
pub(super) fn ascii_sentence_ends(line: &[u8]) -> Vec<usize> {
    sentence_ends(&AsciiLine(line))
}

/// [`ascii_sentence_ends`] for a line of any characters, if all of them are
/// of the common ranges [`sentence_class`] knows.
pub(super) fn known_sentence_ends(line: &str) -> Option<Vec<usize>> {
    KnownLine::of(line).map(|known| sentence_ends(&known))
}

fn sentence_ends(line: &impl Classes) -> Vec<usize> {
    use Sb::*;
    let n = line.len();
    let class = |i: usize| line.class(i);
    let is_saterm = |c: Sb| matches!(c, ATerm | STerm);
    let is_parasep = |c: Sb| matches!(c, Cr | Lf);
    let mut ends = Vec::new();
    let mut i = 0;
    while i < n {
        let c = class(i);
        if c == Cr {
            // A paragraph separator ends a sentence; CR LF stays together.
            i += if i + 1 < n && class(i + 1) == Lf {
                2
            } else {
                1
            };
            ends.push(line.offset(i));
            continue;
        }
        if c == Lf {
            i += 1;
            ends.push(line.offset(i));
            continue;
        }
        if !is_saterm(c) {
            i += 1;
            continue;
        }
        let aterm = c == ATerm;
        let next = (i + 1 < n).then(|| class(i + 1));
        // ATerm × Numeric ("3.5"); (Upper|Lower) ATerm × Upper ("U.S.").
        if aterm
            && next.is_some_and(|x| {
                x == Numeric || (x == Upper && i > 0 && matches!(class(i - 1), Upper | Lower))
            })
        {
            i += 1;
            continue;
        }
        let mut p = i + 1;
        while p < n && class(p) == Close {
            p += 1;
        }
        while p < n && class(p) == Sp {
            p += 1;
        }
        if p < n && is_parasep(class(p)) {
            p += if class(p) == Cr && p + 1 < n && class(p + 1) == Lf {
                2
            } else {
                1
            };
            ends.push(line.offset(p));
            i = p;
            continue;
        }
        if p == n {
            break;
        }
        // ATerm Close* Sp* × (not a letter, terminator or separator)* Lower: "e.g. the".
        let lower_follows = aterm
            && (p..n)
                .map(class)
                .find(|&x| matches!(x, Upper | Lower) || is_parasep(x) || is_saterm(x))
                == Some(Lower);
        let at = class(p);
        if lower_follows || at == SContinue || is_saterm(at) {
            i = p;
            continue;
        }
        ends.push(line.offset(p));
        i = p;
    }
    let len = line.offset(n);
    if ends.last() != Some(&len) && len > 0 {
        ends.push(len);
    }
    ends
}

/// Whether a line of any script holds no sentence boundary before its end:
/// it has no terminator or separator, and no character but ASCII and some
/// common ranges known to be neither (Latin letters, dashes and quotes,
/// arrows, box drawing). Such a line needs no sentence rules at all.
pub(super) fn is_one_sentence(line: &str) -> bool {
    !line
        .bytes()
        .any(|b| matches!(b, b'.' | b'!' | b'?' | b'\r'))
        && line.chars().all(|c| {
            c.is_ascii()
                || matches!(c,
                    '\u{A0}'..='\u{24F}'
                    | '\u{2010}'..='\u{2023}'
                    | '\u{2025}'..='\u{2027}'
                    | '\u{2030}'..='\u{203B}'
                    | '\u{2190}'..='\u{25FF}')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use unicode_segmentation::UnicodeSegmentation;

    fn words_match(text: &str) -> Result<(), TestCaseError> {
        let ours: Vec<(usize, &str)> = word_bounds(text).collect();
        let reference: Vec<(usize, &str)> = text.split_word_bound_indices().collect();
        prop_assert_eq!(ours, reference);
        Ok(())
    }

    fn reference_sentences(line: &str) -> Vec<(usize, &str)> {
        line.split_sentence_bound_indices().collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn ascii_words_match_unicode_segmentation(
            text in prop_oneof![
                "[aZq0-9 .,;:'_\"!?()\t\r\n-]{0,40}",
                "[\\x00-\\x7F]{0,60}",
            ]
        ) {
            words_match(&text)?;
        }

        #[test]
        fn ascii_words_are_counted_as_segmented(
            text in prop_oneof![
                "[aZq0-9 .,;:'_\"!?()\t\r\n-]{0,40}",
                "[\\x00-\\x7F]{0,60}",
            ]
        ) {
            let segmented = text
                .split_word_bounds()
                .filter(|segment| segment.chars().any(char::is_alphanumeric))
                .count();
            prop_assert_eq!(ascii_word_count(text.as_bytes()), segmented);
        }

        #[test]
        fn mixed_words_match_unicode_segmentation(
            text in prop_oneof![
                "[aZ0 .,:'\r\n\u{301}\u{200D}\u{2019}\u{3000}\u{1F600}\u{1F1EB}\u{1F1F7}é日ß-]{0,40}",
                "\\PC{0,30}",
                "[a \u{0}-\u{10FFFF}]{0,30}",
            ]
        ) {
            words_match(&text)?;
        }

        #[test]
        fn lines_without_terminators_are_one_sentence(
            line in "[a Z0,;:\t\u{A0}-\u{24F}\u{2010}-\u{2027}\u{2030}-\u{203B}\u{2190}-\u{25FF}\u{300}\u{85}\u{2028}\u{3002}\u{FF0E}.!?\r]{0,30}\n?"
        ) {
            if is_one_sentence(&line) {
                prop_assert_eq!(reference_sentences(&line).len(), usize::from(!line.is_empty()));
            }
        }

        #[test]
        fn known_sentences_match_unicode_segmentation(
            line in prop_oneof![
                "[aZq .!?\"'(),:;0-9\t\r\n\u{A0}ªµº«»×÷éÉßĸŒœ–—‘’“”‹›©°¶·¼•…‰※→─■\u{2010}\u{2015}-]{0,40}",
                "[a Z.!?\u{A0}-\u{17F}\u{2010}-\u{203B}\u{2190}-\u{25FF}]{0,40}",
            ]
        ) {
            if let Some(ends) = known_sentence_ends(&line) {
                let mut start = 0;
                let mut ours = Vec::new();
                for end in ends {
                    ours.push((start, &line[start..end]));
                    start = end;
                }
                prop_assert_eq!(ours, reference_sentences(&line));
            }
        }

        #[test]
        fn ascii_sentences_match_unicode_segmentation(
            line in prop_oneof![
                "[aZq .!?\"'()\\[\\]{},:;0-9\t\r\n#$-]{0,40}",
                "[\\x00-\\x7F]{0,60}",
            ]
        ) {
            let mut start = 0;
            let mut ours = Vec::new();
            for end in ascii_sentence_ends(line.as_bytes()) {
                ours.push((start, &line[start..end]));
                start = end;
            }
            prop_assert_eq!(ours, reference_sentences(&line));
        }
    }
}
