//! The `citebot` command line: argument parsing and the three commands.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::answer::{Answer, Question};
use crate::chat::{Conversation, Line};
use crate::config::Config;
use crate::exit::ExitCode;
use crate::index;
use crate::library::Library;
use crate::render::{self, Style};
use crate::search::Engine;

#[derive(Debug, Parser)]
#[command(
    name = "citebot",
    version,
    about = "Answers questions about an article with the passages that answer them, each cited",
    long_about = "citebot answers questions about the articles in a corpus folder (Markdown or \
plain text) with the passages that answer them, each with a citation: section, file and lines. \
The passages live in a full-text index that is built on first use and rebuilt whenever the \
corpus changes."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct Paths {
    /// Folder of .md and .txt files to answer from
    #[arg(
        long,
        value_name = "DIR",
        env = "CITEBOT_CORPUS",
        default_value = "corpus"
    )]
    pub corpus: PathBuf,
    /// Folder holding the index (generated; safe to delete)
    #[arg(
        long,
        value_name = "DIR",
        env = "CITEBOT_INDEX",
        default_value = "index"
    )]
    pub index: PathBuf,
}

/// How answers are shown, for `ask` and `chat`.
#[derive(Debug, Args, Clone, Copy)]
pub struct Output {
    /// How many passages to show
    #[arg(short = 'n', long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=50))]
    pub top: u16,
    /// One JSON object per answer instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Rebuild the index from the corpus
    #[command(
        long_about = "Rebuilds the index from the corpus folder. The new index is built \
beside the old one and switched in at once, so questions being answered meanwhile never fail; \
if the build fails, the previous index keeps answering."
    )]
    Index {
        #[command(flatten)]
        paths: Paths,
    },
    /// Answer a question (or, with stdin piped and no question, one question a line)
    #[command(
        long_about = "Answers a question with the passages of the corpus that answer it, \
best first, each with its citation. The index is built or rebuilt first when it is missing or \
older than the corpus.\n\nWith no QUESTION and standard input not a terminal, reads one question \
a line and writes one answer a line, in order."
    )]
    Ask {
        #[command(flatten)]
        paths: Paths,
        #[command(flatten)]
        output: Output,
        /// The question; several words are joined with spaces
        #[arg(value_name = "QUESTION")]
        question: Vec<String>,
    },
    /// A conversation: follow-up questions are read in the context of the ones before
    #[command(
        long_about = "Starts a conversation about the corpus: each question is read after the \
ones before it, so \"how much does it cost?\" after \"what is Strimvelis?\" asks about Strimvelis \
(the answer says how it was understood). /new starts a new conversation, /more shows the last \
question's next passages, /quit or Ctrl-D leaves.\n\nWith standard input not a terminal, reads \
one turn a line and writes one answer a line (with --json, the object of `ask --json`, \
understood_as included); /new lines print nothing."
    )]
    Chat {
        #[command(flatten)]
        paths: Paths,
        #[command(flatten)]
        output: Output,
    },
    /// List the questions the bot declined or users voted down, by section
    #[command(
        long_about = "Reads the bot's feedback log ([discord] feedback_log, and the file it was \
rotated to) and prints the questions declined as not covered or voted down, grouped by the \
section closest to them, the sections with most first: what the corpus is missing or answers \
badly."
    )]
    Gaps {
        /// The feedback log (default: [discord] feedback_log)
        #[arg(long, value_name = "FILE")]
        log: Option<PathBuf>,
    },
    /// Show the passages citebot reads from documents, and check their citations
    #[command(
        long_about = "Reads each FILE as the index would (Markdown, text, HTML or PDF) and \
prints its title, web address and passages, each with its citation; then checks every citation \
against the file: the passage's words inside the lines (or page) cited, and each sentence's text \
fragment selecting that sentence on the page. Exits with 1 if a citation fails or a file \
cannot be read."
    )]
    Passages {
        /// The documents
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
    },
    /// Run the Discord bot (needs DISCORD_TOKEN)
    #[command(
        long_about = "Runs the Discord bot: /ask question:<text> (and a message that mentions \
the bot) gets the passage that answers it, with its citation. Needs the bot token in \
DISCORD_TOKEN. The bot picks up corpus edits and indexes rebuilt by `citebot index` without a \
restart. SIGINT or SIGTERM stops it cleanly."
    )]
    Serve {
        #[command(flatten)]
        paths: Paths,
        /// Run only these shards, e.g. 0-3 (needs --total-shards); default: all, autosharded
        #[arg(
            long,
            value_name = "FIRST-LAST",
            env = "CITEBOT_SHARDS",
            requires = "total_shards"
        )]
        shards: Option<String>,
        /// How many shards the bot has in all, across processes
        #[arg(
            long,
            value_name = "N",
            env = "CITEBOT_TOTAL_SHARDS",
            requires = "shards"
        )]
        total_shards: Option<u32>,
    },
    /// Measure answer quality on a question file (JSON lines)
    #[command(
        long_about = "Runs every question of a JSON-lines file in the format of \
shared/eval/ and prints Hit@1/3/5 and MRR@10 over the answerable questions, the share of \
answerable questions answered and of unanswerable ones declined, overall and per kind."
    )]
    Eval {
        /// The question file
        file: PathBuf,
        #[command(flatten)]
        paths: Paths,
        /// Passages considered per question (Hit@k uses the first k)
        #[arg(short = 'k', long, default_value_t = 10)]
        top: usize,
        /// Also list the questions answered wrongly
        #[arg(long)]
        misses: bool,
        /// Write each question's ranked passages and the signals they were
        /// ranked on to FILE as JSON lines (for fitting weights and thresholds)
        #[arg(long, value_name = "FILE")]
        dump: Option<PathBuf>,
    },
}

/// The log filter from `spec` (`RUST_LOG` syntax), with the websocket
/// library held at info whatever the spec says: at debug and trace it prints
/// whole gateway frames, and the IDENTIFY frame holds the bot token.
pub fn log_filter(spec: &str) -> tracing_subscriber::EnvFilter {
    // The PDF reader warns for each glyph it cannot map: noise, a line a glyph, unless asked for.
    let spec =
        format!("pdf_extract=error,lopdf=error,{spec},tungstenite=info,tokio_tungstenite=info");
    tracing_subscriber::EnvFilter::try_new(&spec).unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(
            "pdf_extract=error,lopdf=error,warn,tungstenite=info,tokio_tungstenite=info",
        )
    })
}

/// Logs go to stderr; quiet unless `RUST_LOG` asks, except that the bot
/// reports each question at info level.
fn init_logging(default: &str) {
    let spec = std::env::var("RUST_LOG").unwrap_or_else(|_| default.to_string());
    let filter = log_filter(&spec);
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(io::stderr().is_terminal())
        .with_writer(io::stderr)
        .try_init();
}

/// Parses the process arguments and runs the command.
pub fn run() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    init_logging(match cli.command {
        Command::Serve { .. } => "warn,citebot=info",
        _ => "warn",
    });
    let config = Config::load().context("loading the configuration")?;
    match cli.command {
        Command::Serve {
            paths,
            shards,
            total_shards,
        } => serve(paths, shards, total_shards, config),
        Command::Index { paths } => {
            let models = config.model.load_all(&mut |warning| eprintln!("{warning}"));
            let options = config.build_options(&models);
            let bar = progress_bar();
            let report = index::build_with(&paths.corpus, &paths.index, &options, &mut |p| {
                if let Some(bar) = &bar {
                    bar.set_length(p.total);
                    bar.set_position(p.done);
                }
            });
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            let report = report?;
            for why in &report.manifest.skipped {
                eprintln!("citebot: {why}");
            }
            let peak =
                peak_memory_mb().map_or(String::new(), |mb| format!(", peak memory {mb} MB"));
            let embedded = report.embedded.map_or(String::new(), |n| {
                format!(
                    "; {n} passage(s) embedded, {} unchanged kept",
                    report.manifest.passages.saturating_sub(n)
                )
            });
            println!(
                "Indexed {} document(s) from {} into {} passages (words: median {}, max {}){embedded} in {:.2} s{peak} ({}).",
                report.documents,
                paths.corpus.display(),
                report.manifest.passages,
                report.words_median,
                report.words_max,
                report.elapsed.as_secs_f64(),
                paths.index.join(&report.manifest.generation).display(),
            );
            Ok(ExitCode::Success)
        }
        Command::Ask {
            paths,
            output: Output { top, json },
            question,
        } => {
            // Batch mode only when no question is given at all: an empty
            // argument (`ask ""`) is an empty question, wherever stdin points.
            let batch = question.is_empty() && !io::stdin().is_terminal();
            let question = question.join(" ");
            if question.trim().is_empty() && !batch {
                eprintln!(
                    "citebot: the question is empty: give it as words, e.g. citebot ask \"how are AAV vectors delivered?\", or pipe questions one a line"
                );
                return Ok(ExitCode::Usage);
            }
            let engine = open_engine(&paths, &config)?;
            if batch {
                answer_lines(&engine, usize::from(top), json)?;
            } else {
                let answer = engine.ask(&Question::new(question), usize::from(top))?;
                let out = if json {
                    render::json_line(&answer) + "\n"
                } else {
                    render::text(&answer, stdout_style())
                };
                write_out(&out)?;
            }
            Ok(ExitCode::Success)
        }
        Command::Chat {
            paths,
            output: Output { top, json },
        } => {
            let engine = open_engine(&paths, &config)?;
            let top = usize::from(top);
            if io::stdin().is_terminal() {
                chat_terminal(&engine, top, json)?;
            } else {
                chat_lines(&engine, top, json)?;
            }
            Ok(ExitCode::Success)
        }
        Command::Passages { files } => {
            let mut clean = true;
            for file in &files {
                clean &= show_passages(file)?;
            }
            Ok(if clean {
                ExitCode::Success
            } else {
                ExitCode::Failure
            })
        }
        Command::Gaps { log } => {
            let log = log.unwrap_or(config.discord.feedback_log);
            let files = [crate::feedback::Log::rotated(&log), log.clone()];
            let (gaps, unreadable) = crate::feedback::gaps(&files)
                .with_context(|| format!("reading {}", log.display()))?;
            let mut out = String::new();
            if gaps.is_empty() {
                out.push_str(&format!(
                    "No declined or voted-down questions in {}.\n",
                    log.display()
                ));
            }
            for gap in &gaps {
                out.push_str(&format!("{} ({})\n", gap.section, gap.total));
                for (question, count) in &gap.questions {
                    out.push_str(&format!("  {count:>3}  {question}\n"));
                }
            }
            if unreadable > 0 {
                eprintln!("citebot: {unreadable} line(s) of the log are not records; skipped");
            }
            write_out(&out)?;
            Ok(ExitCode::Success)
        }
        Command::Eval {
            file,
            paths,
            top,
            misses,
            dump,
        } => {
            if crate::eval::conversations::is_conversations(&file) {
                let conversations = crate::eval::conversations::load(&file)?;
                let engine = open_engine(&paths, &config)?;
                let report = crate::eval::conversations::run(&engine, &conversations, top)?;
                write_out(&(report.table(misses) + &citation_summary(&paths.corpus)?))?;
                return Ok(ExitCode::Success);
            }
            let questions = crate::eval::load(&file)?;
            let engine = open_engine(&paths, &config)?;
            let report = crate::eval::run(&engine, &questions, top)?;
            if let Some(path) = dump {
                let lines: String = report.records.iter().map(|r| format!("{r}\n")).collect();
                std::fs::write(&path, lines)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            write_out(&(report.table(misses) + &citation_summary(&paths.corpus)?))?;
            Ok(ExitCode::Success)
        }
    }
}

/// What `eval` adds under its table: every citation of the corpus checked
/// against its file, and each that fails.
fn citation_summary(corpus: &std::path::Path) -> anyhow::Result<String> {
    Ok(format!("\n{}", crate::citation::check(corpus)?))
}

/// A progress bar on stderr when it is a terminal; nothing when piped.
fn progress_bar() -> Option<indicatif::ProgressBar> {
    if !io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(0);
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} indexing [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .map(|s| s.progress_chars("=> "));
    if let Ok(style) = style {
        bar.set_style(style);
    }
    Some(bar)
}

/// The process's peak resident memory (Linux `VmHWM`), in MB.
fn peak_memory_mb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

fn parse_shards(range: &str, total: u32) -> Option<crate::discord::Shards> {
    let (first, last) = range.split_once('-').unwrap_or((range, range));
    let (first, last): (u32, u32) = (first.trim().parse().ok()?, last.trim().parse().ok()?);
    (first <= last && last < total).then(|| crate::discord::Shards {
        range: first..last + 1,
        total,
    })
}

fn serve(
    paths: Paths,
    shards: Option<String>,
    total: Option<u32>,
    config: Config,
) -> anyhow::Result<ExitCode> {
    let token = match std::env::var("DISCORD_TOKEN") {
        Ok(t) if !t.trim().is_empty() => crate::discord::Token::new(t.trim()),
        _ => {
            eprintln!(
                "citebot: DISCORD_TOKEN is not set. Create an application at \
https://discord.com/developers/applications, add a bot (Bot → Reset Token), copy its token, \
then run: DISCORD_TOKEN=... citebot serve"
            );
            return Ok(ExitCode::Usage);
        }
    };
    let shards = match (shards, total) {
        (Some(range), Some(total)) => match parse_shards(&range, total) {
            Some(s) => Some(s),
            None => {
                eprintln!("citebot: --shards {range} does not fit --total-shards {total}: give FIRST-LAST with LAST below the total, e.g. --shards 0-1 --total-shards 4");
                return Ok(ExitCode::Usage);
            }
        },
        _ => None,
    };
    let options = crate::discord::ServeOptions {
        token,
        api_base: std::env::var("DISCORD_API_BASE")
            .ok()
            .filter(|b| !b.trim().is_empty()),
        corpus: paths.corpus,
        index: paths.index,
        config,
        shards,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(crate::discord::serve(options, stop_signal()))?;
    Ok(ExitCode::Success)
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn open_engine(paths: &Paths, config: &Config) -> anyhow::Result<Arc<Engine>> {
    let library = Library::open(
        &paths.corpus,
        &paths.index,
        config.clone(),
        &mut |message| {
            eprintln!("{message}");
        },
    )?;
    Ok(library.engine())
}

/// Writes to stdout, treating a closed pipe (`| head`) as a normal end.
fn write_out(text: &str) -> anyhow::Result<()> {
    emit(text).map(drop)
}

/// Most questions batch mode answers together: enough for the model to
/// encode them in efficient passes, few enough that the first answers of a
/// long file come out soon.
const BATCH: usize = 256;

/// Batch mode: one question a line in, one answer a line out, in order.
/// The lines already waiting are answered together (on every core, the
/// model encoding them in shared passes); a tool that writes a line and
/// waits for its answer gets it at once.
fn answer_lines(engine: &Engine, top: usize, json: bool) -> anyhow::Result<()> {
    let (send, lines) = std::sync::mpsc::sync_channel::<io::Result<Vec<u8>>>(BATCH);
    // Detached: it may be blocked on a read when the answers end (closed pipe).
    std::thread::spawn(move || {
        for line in io::stdin().lock().split(b'\n') {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let mut number = 0;
    while let Ok(first) = lines.recv() {
        let mut batch = vec![first];
        batch.extend(lines.try_iter().take(BATCH - 1));
        // Each line is either a question to ask or the problem that stops it.
        let mut questions = Vec::new();
        let mut outcomes = Vec::with_capacity(batch.len());
        for line in batch {
            number += 1;
            let bytes = line.context("reading questions from standard input")?;
            outcomes.push(match line_text(&bytes, number, json) {
                Ok(question) if question.trim().is_empty() => {
                    Err(problem_line(json, question, "empty question"))
                }
                Ok(question) => {
                    questions.push(Question::from(question));
                    Ok(())
                }
                Err(problem) => Err(problem),
            });
        }
        let mut answers = engine.ask_many(&questions, top, threads).into_iter();
        let mut out = String::new();
        for outcome in outcomes {
            let line = match outcome {
                Ok(()) => one_line(&answers.next().context("an answer went missing")??, json),
                Err(problem) => problem,
            };
            out.push_str(&line);
            out.push('\n');
        }
        if !emit(&out)? {
            return Ok(());
        }
    }
    Ok(())
}

/// `citebot passages` for one file; whether its citations all hold.
fn show_passages(file: &std::path::Path) -> anyhow::Result<bool> {
    use crate::{citation, corpus};
    let Some(format) = corpus::Format::of(file) else {
        eprintln!(
            "citebot: {} is not a format citebot reads (.md, .txt, .html, .pdf)",
            file.display()
        );
        return Ok(false);
    };
    let source = corpus::read_file(file)?;
    let path = &source.stamp.path;
    let checked = match citation::check_document(path, format, &source.bytes) {
        Ok(checked) => checked,
        Err(e) => {
            eprintln!("citebot: {e}");
            return Ok(false);
        }
    };
    let (doc, report) = (&checked.document, &checked.report);
    let mut out = format!(
        "{path}: \"{}\", {} passage(s)",
        doc.title,
        checked.passages.len()
    );
    if let Some(url) = &doc.url {
        out.push_str(&format!(", at {url}"));
    }
    out.push('\n');
    for passage in &checked.passages {
        out.push_str(&format!(
            "\n{}\n{}\n",
            render::citation_line(&passage.citation),
            passage.text
        ));
    }
    out.push_str(&format!("\n{report}"));
    write_out(&out)?;
    Ok(report.failures.is_empty())
}

fn stdout_style() -> Style {
    Style::detect(io::stdout().is_terminal(), &|name| std::env::var(name).ok())
}

/// The text of input line `number` (from 1), its `\r` trimmed; not UTF-8:
/// the line that says so instead.
fn line_text(bytes: &[u8], number: usize, json: bool) -> Result<&str, String> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.trim_end_matches('\r')),
        Err(_) => Err(problem_line(
            json,
            &String::from_utf8_lossy(bytes),
            &format!("line {number} is not UTF-8 text"),
        )),
    }
}

/// An answer as one line: the `--json` object, or the best sentence and its citation.
fn one_line(answer: &Answer, json: bool) -> String {
    if json {
        render::json_line(answer)
    } else {
        render::batch_line(answer)
    }
}

/// `chat` at a terminal: a prompt with line editing and history.
fn chat_terminal(engine: &Engine, top: usize, json: bool) -> anyhow::Result<()> {
    let mut editor = rustyline::DefaultEditor::new().context("starting the line editor")?;
    let style = stdout_style();
    let mut conversation = Conversation::new();
    println!("Ask about the corpus. /new starts over, /more shows more passages, /quit leaves.");
    loop {
        let line = match editor.readline("> ") {
            Ok(line) => line,
            Err(rustyline::error::ReadlineError::Interrupted) => continue,
            Err(rustyline::error::ReadlineError::Eof) => return Ok(()),
            Err(e) => return Err(e).context("reading the question"),
        };
        let _ = editor.add_history_entry(line.as_str());
        let render = |answer: &Answer| {
            if json {
                render::json_line(answer) + "\n"
            } else {
                render::text(answer, style)
            }
        };
        let out = match Line::parse(&line) {
            Line::Quit => return Ok(()),
            Line::Empty => continue,
            Line::New => {
                conversation.reset();
                "New conversation.\n".to_string()
            }
            Line::More => match conversation.more(engine, top)? {
                Some(answer) if !answer.hits.is_empty() => render(&answer),
                Some(_) => "No more passages.\n".to_string(),
                None => "Nothing asked yet.\n".to_string(),
            },
            Line::Unknown(command) => {
                format!("Unknown command {command}: /new, /more or /quit.\n")
            }
            Line::Ask(question) => render(&conversation.ask(engine, question, top)?),
        };
        write_out(&format!("{out}\n"))?;
    }
}

/// `chat` with standard input not a terminal: one turn a line in, one
/// answer a line out (`/new` lines print nothing). Outside tools drive this.
fn chat_lines(engine: &Engine, top: usize, json: bool) -> anyhow::Result<()> {
    let mut conversation = Conversation::new();
    for (number, line) in io::stdin().lock().split(b'\n').enumerate() {
        let bytes = line.context("reading questions from standard input")?;
        let text = match line_text(&bytes, number + 1, json) {
            Ok(text) => text,
            Err(problem) => {
                if !emit(&format!("{problem}\n"))? {
                    return Ok(());
                }
                continue;
            }
        };
        let out = match Line::parse(text) {
            Line::Quit => return Ok(()),
            Line::New => {
                conversation.reset();
                continue;
            }
            Line::Empty => problem_line(json, text, "empty question"),
            Line::More => match conversation.more(engine, top)? {
                Some(answer) => one_line(&answer, json),
                None => problem_line(json, text, "nothing asked yet"),
            },
            Line::Unknown(command) => problem_line(
                json,
                text,
                &format!("unknown command {command}: /new, /more or /quit"),
            ),
            Line::Ask(question) => one_line(&conversation.ask(engine, question, top)?, json),
        };
        if !emit(&format!("{out}\n"))? {
            return Ok(());
        }
    }
    Ok(())
}

/// Writes `text` to stdout; false when the reader has gone.
fn emit(text: &str) -> anyhow::Result<bool> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(false),
        other => other.context("writing the answer").map(|()| true),
    }
}

fn problem_line(json: bool, question: &str, problem: &str) -> String {
    if json {
        render::error_line(question, problem)
    } else {
        format!("error: {problem}")
    }
}
