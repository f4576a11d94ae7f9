//! Ranking and the verdict, through the library: what comes first, and what
//! is "not covered", on the article and on small corpora made for one rule.

use crate::util::Corpus;

/// The semantic stage: questions that share no content word with the
/// passage that answers them, which BM25 alone cannot find.
#[test]
fn the_model_finds_the_passage_that_means_the_question_in_other_words() {
    let text = "# Notes\n\n## Price\n\nGlybera costs around one million euros per treatment.\n\n\
         ## Eyes\n\nLuxturna treats a retinal disease that leads to blindness.\n\n\
         ## Vectors\n\nA vector carries the gene into the cell.\n\n\
         ## Trials\n\nMost trials enrol few patients, in a handful of hospitals.\n";
    let semantic = Corpus::of(text);
    let lexical = Corpus::lexical(text);
    for (question, expected) in [
        ("how expensive is it?", "costs around one million"),
        ("which medicine helps people who cannot see?", "blindness"),
    ] {
        let answer = semantic.ask(question);
        let top = &answer.hits.first().expect("a passage").passage.text;
        assert!(top.contains(expected), "{question}: {top}");
        // No word in common: without the model nothing leads there.
        let answer = lexical.ask(question);
        assert!(
            !answer.answered()
                && answer
                    .hits
                    .first()
                    .is_none_or(|hit| !hit.passage.text.contains(expected)),
            "{question}"
        );
    }
}

/// Typo corrections: one edit anywhere (the first letter included, which is
/// looked up rather than walked), two edits in long words that keep their
/// first two letters.
#[test]
fn misspelt_words_are_corrected_wherever_the_edit_is() {
    let corpus = Corpus::of(
        "# Notes\n\n## Vectors\n\nLentiviruses integrate into the genome of dividing cells.\n\n\
         ## Blood\n\nHemoglobinopathies such as thalassemia affect the red blood cells.\n\n\
         ## Other\n\nNothing about those two subjects is written in this paragraph here.\n",
    );
    let matched = |question: &str| corpus.top(question).matched_terms.join(" ");
    // A swap inside the word, a changed first letter, a missing first letter.
    assert!(matched("lentivirsues").contains("lentiviruses"));
    assert!(matched("pentiviruses").contains("lentiviruses"));
    assert!(matched("entiviruses").contains("lentiviruses"));
    // Two edits in a long word.
    assert!(matched("hemoglobinopatees").contains("hemoglobinopathies"));
}

/// Abstention: unfinished search syntax is "not covered" whatever matches;
/// well-formed operators are read as words.
#[test]
fn broken_search_syntax_is_not_covered_but_plain_operators_are_words() {
    let corpus = Corpus::of(
        "# Notes\n\n## Transport\n\nThe gene is transported into the cell by a vector.\n\n\
         ## Drugs\n\nKymriah and Yescarta are approved drugs made of cells carrying a new gene.\n\n\
         ## Cost\n\nGlybera costs around one million euros, a high price for a gene drug.\n\n\
         ## Vectors\n\nA vector is a vehicle that carries a gene into a cell.\n",
    );
    let answered = |question: &str| corpus.ask(question).answered();
    assert!(answered("how much does Glybera cost"));
    assert!(answered("What is a vector?"));
    assert!(answered("gene AND vector"));
    assert!(!answered("gene AND (vector OR"));
}

#[test]
fn what_an_acronym_stands_for_is_answered_only_where_it_is_spelt_out() {
    let corpus = Corpus::of(
        "# Notes\n\n## Vectors\n\nAAV vectors are small. They are injected once.\n\n\
         Many vectors derive from adeno-associated virus (or AAV), a harmless virus.\n\n\
         ## Editing\n\nTools include TALEN and zinc-finger nucleases, which cut DNA.\n",
    );
    for question in [
        "what does AAV stand for",
        "AAV is short for?",
        "what is AAV",
    ] {
        let best = corpus.top(question).passage.text;
        assert!(
            best.contains("adeno-associated virus (or AAV)"),
            "{question}: {best}"
        );
    }
}

#[test]
fn a_numbered_label_is_found_in_roman_numerals_and_back() {
    let corpus = Corpus::of(
        "# Notes\n\n## Trials\n\nMost trials are small. Phase III trials compare treatments.\n\n\
         ## Blood\n\nHemophilia B lacks factor 9; the gene is carried by a vector.\n\n\
         ## Cost\n\nThe drugs cost 4 million euros.\n\n\
         ## Eyes\n\nLuxturna treats a retinal disease.\n",
    );
    let top = |question: &str| corpus.top(question).passage.text;
    assert!(top("what happens in phase 3 trials").contains("Phase III"));
    assert!(top("which factor IX gene").contains("factor 9"));
    // A numeral labels the word before it: "IV" opening a question is no 4.
    assert!(!corpus.ask("IV drip").answered());
    assert!(!corpus.ask("2 3 4").answered());
}

/// "made" and "given" frame a question ("what is X made of", "how is X given")
/// and name nothing: before they did, their rarity sent "what is Strimvelis
/// made of" to "progress was made", and "how is Luxturna given" to "given that".
#[test]
fn frame_verbs_ask_about_the_subject() {
    let corpus = Corpus::of(
        "# Notes\n\n## Progress\n\nMajor progress has been made in trials.\n\n\
         ## Drug\n\nStrimvelis consists of autologous cells which express the ADA gene.\n\n\
         ## Approval\n\nStrimvelis was approved in Europe in 2016.\n\n\
         ## Eyes\n\nLuxturna is a treatment for a retinal disease.\n\n\
         ## Route\n\nLuxturna is injected directly into the retina.\n\n\
         ## Doses\n\nTrials are small, given that the doses are large.\n\n\
         ## Blood\n\nSickle cell disease affects red blood cells.\n",
    );
    let top = |question: &str| corpus.top(question).passage.text;
    assert!(top("what is strimvelis made of").contains("Strimvelis"));
    assert!(top("how is luxturna given").contains("Luxturna"));
}
