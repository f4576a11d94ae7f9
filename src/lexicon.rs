//! Equivalent wordings applied at query time, both ways: acronyms mined from
//! the corpus itself ("adeno-associated virus (or AAV)") and the maintainers'
//! synonym file (`corpus/synonyms.csv`, one group of equivalents a line).

use std::ops::Range;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::analysis;
use crate::Error;

/// One way of saying a thing, as a run of stems.
pub type Wording = Vec<String>;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Lexicon {
    /// Each group lists wordings that mean the same.
    pub groups: Vec<Vec<Wording>>,
    /// (group, wording) of each wording, by its first stem: a question is
    /// matched against the wordings that can start at each of its words,
    /// not against every wording (a large corpus mines over a thousand).
    #[serde(skip)]
    by_first: std::sync::OnceLock<std::collections::HashMap<String, Vec<(usize, usize)>>>,
}

/// Two lexicons are the same when their groups are; the index is only a cache.
impl PartialEq for Lexicon {
    fn eq(&self, other: &Self) -> bool {
        self.groups == other.groups
    }
}

impl Eq for Lexicon {}

/// The content stems of `text`, as a question's would be read.
fn wording(text: &str) -> Wording {
    analysis::tokens(text)
        .into_iter()
        .filter(|t| !t.derived && !analysis::is_stop_word(&t.word))
        .map(|t| t.stem)
        .collect()
}

impl Lexicon {
    /// Adds wordings that mean the same, joining a group that shares one of them.
    pub fn add_equivalents(&mut self, members: Vec<Wording>) {
        self.by_first = Default::default();
        let mut members: Vec<Wording> = members.into_iter().filter(|w| !w.is_empty()).collect();
        members.dedup();
        if members.len() < 2 {
            return;
        }
        if let Some(existing) = self
            .groups
            .iter_mut()
            .find(|g| g.iter().any(|w| members.contains(w)))
        {
            for m in members {
                if !existing.contains(&m) {
                    existing.push(m);
                }
            }
        } else {
            self.groups.push(members);
        }
    }

    /// Parses the synonym file: `#` comments, one comma-separated group a line.
    pub fn add_synonym_file(&mut self, path: &Path, text: &str) -> Result<(), Error> {
        for (number, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let members: Vec<&str> = line
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .collect();
            if members.len() < 2 {
                return Err(Error::Synonyms {
                    path: path.to_path_buf(),
                    line: number + 1,
                    message: "a line needs two or more comma-separated wordings".into(),
                });
            }
            self.add_equivalents(members.into_iter().map(wording).collect());
        }
        Ok(())
    }

    /// For each wording found as a run in `stems`: where it stands, and the
    /// wordings that mean the same.
    pub fn expansions<'a>(&'a self, stems: &[String]) -> Vec<(Range<usize>, Vec<&'a Wording>)> {
        let by_first = self.by_first.get_or_init(|| {
            let mut by_first: std::collections::HashMap<String, Vec<(usize, usize)>> =
                Default::default();
            for (g, group) in self.groups.iter().enumerate() {
                for (w, wording) in group.iter().enumerate() {
                    if let Some(first) = wording.first() {
                        by_first.entry(first.clone()).or_default().push((g, w));
                    }
                }
            }
            by_first
        });
        // Each wording at its first place in the question, in lexicon order.
        let mut found: Vec<(usize, usize, usize)> = Vec::new();
        for (start, stem) in stems.iter().enumerate() {
            for &(g, w) in by_first.get(stem).into_iter().flatten() {
                let wording = &self.groups[g][w];
                let fits = stems
                    .get(start..start + wording.len())
                    .is_some_and(|run| run == wording.as_slice());
                if fits && !found.iter().any(|&(fg, fw, _)| (fg, fw) == (g, w)) {
                    found.push((g, w, start));
                }
            }
        }
        found.sort_unstable();
        found
            .into_iter()
            .map(|(g, w, start)| {
                let group = &self.groups[g];
                let wording = &group[w];
                let others = group.iter().filter(|o| *o != wording).collect();
                (start..start + wording.len(), others)
            })
            .collect()
    }
}

/// The "long form (ABBR)" and "long form (or ABBR)" pairs of `text`, each as [acronym, long form].
pub fn acronyms(text: &str) -> Vec<Vec<Wording>> {
    let mut out = Vec::new();
    for (open, _) in text.match_indices('(') {
        let Some(close) = text[open..].find(')').map(|i| open + i) else {
            continue;
        };
        let inside = text[open + 1..close].trim();
        let inside = inside.strip_prefix("or ").unwrap_or(inside).trim();
        if !is_acronym(inside) {
            continue;
        }
        if let Some(long) = long_form(&text[..open], inside) {
            out.push(vec![wording(inside), wording(&long)]);
        }
    }
    out
}

/// "AAV", "siRNA", "ADA-SCID", "CAR": two or more capitals, no spaces, short.
fn is_acronym(s: &str) -> bool {
    let capitals = s.chars().filter(char::is_ascii_uppercase).count();
    (2..=10).contains(&s.chars().count())
        && capitals >= 2
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
}

/// The words before an acronym that it abbreviates (Schwartz & Hearst's rule,
/// loosened to initials): each word's first letter appears in the acronym in
/// order, the first word starts with its first letter.
fn long_form(before: &str, acronym: &str) -> Option<String> {
    let letters: Vec<char> = acronym
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let words: Vec<&str> = before.split_whitespace().collect();
    let max_words = (letters.len() + 2).min(words.len());
    // The shortest window whose initials fit wins.
    for n in 2..=max_words {
        let window = &words[words.len() - n..];
        // A word that is itself an acronym ("RNA" in "small interfering RNA") gives all its letters.
        let initials: Vec<char> = window
            .iter()
            .flat_map(|w| w.split('-'))
            .flat_map(|w| {
                let all_caps = w.chars().count() >= 2 && w.chars().all(|c| c.is_ascii_uppercase());
                let take = if all_caps { w.len() } else { 1 };
                w.chars()
                    .take(take)
                    .map(|c| c.to_ascii_lowercase())
                    .collect::<Vec<_>>()
            })
            .collect();
        if initials.first() != letters.first() {
            continue;
        }
        let mut pos = 0;
        let all_in_order =
            initials
                .iter()
                .all(|c| match letters[pos..].iter().position(|l| l == c) {
                    Some(i) => {
                        pos += i + 1;
                        true
                    }
                    None => false,
                });
        let covers_enough = initials.len() * 3 >= letters.len() * 2;
        if all_in_order
            && covers_enough
            && window
                .iter()
                .all(|w| w.chars().all(|c| c.is_alphabetic() || c == '-'))
        {
            return Some(window.join(" "));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    fn mine(lex: &mut Lexicon, text: &str) {
        for pair in acronyms(text) {
            lex.add_equivalents(pair);
        }
    }

    #[test]
    fn mines_acronyms_with_and_without_or() {
        let mut lex = Lexicon::default();
        mine(
            &mut lex,
            "the vectors derived from adeno-associated virus (or AAV). Over",
        );
        mine(&mut lex, "arm them with a chimeric receptor (CAR). This");
        mine(&mut lex, "small interfering RNA (siRNA) presenting");
        mine(
            &mut lex,
            "launched in 2016) (Strimvelis, launched) (nucleases)",
        );
        assert_eq!(
            lex.groups,
            vec![
                vec![s(&["aav"]), s(&["adeno", "associ", "virus"])],
                vec![s(&["car"]), s(&["chimer", "receptor"])],
                vec![s(&["sirna"]), s(&["small", "interfer", "rna"])],
            ]
        );
    }

    #[test]
    fn expands_both_ways() {
        let mut lex = Lexicon::default();
        lex.add_synonym_file(Path::new("s.csv"), "# lay words\ncost, price\n")
            .unwrap();
        mine(&mut lex, "adeno-associated virus (or AAV)");
        assert_eq!(
            lex.expansions(&s(&["price", "of", "aav"])),
            vec![
                (0..1, vec![&s(&["cost"])]),
                (2..3, vec![&s(&["adeno", "associ", "virus"])])
            ]
        );
        assert_eq!(
            lex.expansions(&s(&["adeno", "associ", "virus"])),
            vec![(0..3, vec![&s(&["aav"])])]
        );
        // A wording is found where it starts, once, and only whole.
        assert_eq!(
            lex.expansions(&s(&[
                "virus", "adeno", "associ", "adeno", "associ", "virus"
            ])),
            vec![(3..6, vec![&s(&["aav"])])]
        );
        // Groups added after a lookup are looked up too.
        mine(&mut lex, "chimeric receptor (CAR)");
        assert_eq!(
            lex.expansions(&s(&["car"])),
            vec![(0..1, vec![&s(&["chimer", "receptor"])])]
        );
    }

    #[test]
    fn a_synonym_line_with_one_member_is_an_error_naming_the_line() {
        let err = Lexicon::default()
            .add_synonym_file(Path::new("corpus/synonyms.csv"), "cost, price\nlonely\n")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "corpus/synonyms.csv:2: a line needs two or more comma-separated wordings"
        );
    }
}
