//! What kind of answer a question asks for ("why" wants a cause, "how long" a
//! duration, "who" someone), and whether a passage holds that kind of thing.
//! Words alone cannot tell "the majority are phase I" from "phase III is
//! rare"; the kind of answer often can.

use crate::analysis::{Analysed, Token};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Cause,
    Duration,
    Date,
    Quantity,
    Agent,
    Place,
}

/// The kind of answer `tokens` (a question's) asks for, if it says.
pub fn of_question(tokens: &[Token]) -> Option<Intent> {
    let words: Vec<&str> = tokens
        .iter()
        .filter(|t| !t.derived)
        .map(|t| t.word.as_str())
        .collect();
    let pair = |a: &str, b: &[&str]| words.windows(2).any(|w| w[0] == a && b.contains(&w[1]));
    // "when", "who" and "where" also join clauses ("dies when", "patients who"):
    // they ask only at the head of the question.
    let first = words.first().copied().unwrap_or_default();
    if words.contains(&"why") || pair("how", &["come"]) || pair("what", &["causes", "caused"]) {
        Some(Intent::Cause)
    } else if pair("how", &["long"]) {
        Some(Intent::Duration)
    } else if first == "when" || pair("what", &["year", "date"]) {
        Some(Intent::Date)
    } else if pair("how", &["many"]) || pair("what", &["percentage", "proportion", "number"]) {
        Some(Intent::Quantity)
    } else if matches!(first, "who" | "whom") || pair("by", &["whom"]) {
        Some(Intent::Agent)
    } else if first == "where"
        || pair("which", &["countries", "country", "parts", "regions"])
        || pair("what", &["countries", "country", "parts", "regions"])
    {
        Some(Intent::Place)
    } else {
        None
    }
}

// Words (folded, not stemmed: "response" is no cause though it stems like
// "responsible") that show an answer of each kind.
const CAUSE: &[&str] = &[
    "because",
    "due",
    "cause",
    "causes",
    "caused",
    "causing",
    "responsible",
    "reason",
    "reasons",
    "owing",
    "consequence",
    "consequences",
    "trigger",
    "triggers",
    "triggered",
    "explains",
    "explained",
    "explanation",
];
const DURATION: &[&str] = &[
    "lifespan",
    "lifetime",
    "permanent",
    "permanently",
    "durable",
    "durably",
    "persist",
    "persists",
    "persistent",
    "persistence",
    "longterm",
    "lasting",
    "lasts",
    "sustained",
];
const TIME_UNITS: &[&str] = &[
    "year", "years", "month", "months", "week", "weeks", "day", "days", "decade", "decades",
    "hour", "hours",
];
const NUMBER_WORDS: &[&str] = &[
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "twenty",
    "thirty",
    "forty",
    "fifty",
    "dozen",
    "dozens",
    "hundred",
    "hundreds",
    "thousand",
    "thousands",
    "million",
    "millions",
    "billion",
    "percent",
];
const AGENTS: &[&str] = &[
    "researchers",
    "scientists",
    "team",
    "teams",
    "physicians",
    "doctors",
    "clinicians",
    "company",
    "companies",
    "industry",
    "industrial",
    "industrials",
    "pharmaceutical",
    "biotech",
    "biotechs",
    "association",
    "associations",
    "institute",
    "institutes",
    "laboratory",
    "laboratories",
    "stakeholders",
    "partners",
    "partnership",
    "partnerships",
    "organisation",
    "organisations",
    "organization",
    "organizations",
    "agency",
    "agencies",
    "university",
    "universities",
    "hospital",
    "hospitals",
    "academic",
    "foundation",
    "foundations",
];
const PLACES: &[&str] = &[
    "europe",
    "european",
    "usa",
    "america",
    "american",
    "china",
    "chinese",
    "asia",
    "asian",
    "africa",
    "african",
    "japan",
    "france",
    "french",
    "germany",
    "uk",
    "britain",
    "canada",
    "india",
    "country",
    "countries",
    "world",
    "worldwide",
    "international",
    "internationally",
];

/// Whether `analysed` holds the kind of thing `intent` asks for.
pub fn answered_in(intent: Intent, analysed: &Analysed) -> bool {
    let words: Vec<&str> = analysed.tokens.iter().map(|t| analysed.word(t)).collect();
    let has = |list: &[&str]| words.iter().any(|w| list.contains(w));
    let is_number = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit());
    match intent {
        Intent::Cause => has(CAUSE),
        Intent::Duration => {
            has(DURATION)
                || words.windows(2).any(|w| {
                    (is_number(w[0]) || NUMBER_WORDS.contains(&w[0])) && TIME_UNITS.contains(&w[1])
                })
        }
        Intent::Date => words
            .iter()
            .any(|w| is_number(w) && w.len() == 4 && (w.starts_with("19") || w.starts_with("20"))),
        Intent::Quantity => words.iter().any(|w| is_number(w)) || has(NUMBER_WORDS),
        Intent::Agent => has(AGENTS),
        Intent::Place => has(PLACES),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::tokens;

    fn intent(question: &str) -> Option<Intent> {
        of_question(&tokens(question))
    }

    #[test]
    fn questions_say_what_kind_of_answer_they_want() {
        assert_eq!(intent("Why is it so expensive?"), Some(Intent::Cause));
        assert_eq!(
            intent("how long do the effects last"),
            Some(Intent::Duration)
        );
        assert_eq!(intent("When was Glybera approved?"), Some(Intent::Date));
        assert_eq!(intent("in what year did trials start"), Some(Intent::Date));
        assert_eq!(
            intent("how many patients were treated"),
            Some(Intent::Quantity)
        );
        assert_eq!(intent("who funds the research"), Some(Intent::Agent));
        assert_eq!(intent("which countries sell it"), Some(Intent::Place));
        assert_eq!(intent("what is a vector"), None);
    }

    #[test]
    fn clause_words_ask_nothing() {
        // Regression: "when" inside the question took it for a question about dates.
        assert_eq!(intent("what happens to the gene when the cell dies"), None);
        assert_eq!(intent("can patients who had leukemia be treated"), None);
    }

    #[test]
    fn passages_show_the_kind_of_answer_they_hold() {
        let holds = |intent, text| answered_in(intent, &Analysed::of(text));
        assert!(holds(
            Intent::Cause,
            "Insertions were responsible for leukemia."
        ));
        assert!(!holds(Intent::Cause, "The immune response was strong."));
        assert!(holds(
            Intent::Duration,
            "The gene was expressed 2 years after treatment."
        ));
        assert!(holds(Intent::Duration, "The effect is long-term."));
        assert!(!holds(Intent::Duration, "A long vector."));
        assert!(holds(Intent::Date, "Approved in 2017."));
        assert!(!holds(Intent::Date, "Around 2500 patients."));
        assert!(holds(Intent::Quantity, "Around thirty trials."));
        assert!(holds(Intent::Agent, "Patient associations and biotechs."));
        assert!(holds(Intent::Place, "Available in Europe and China."));
    }
}
