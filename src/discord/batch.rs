//! Questions answered together. A question (a follow-up too, encoded with
//! its conversation's words) that finds a worker free is answered at once,
//! alone; the ones that arrive while every worker is busy
//! wait, and the next free worker answers all of them in one batch, where
//! each model encodes them in one pass (about half of what encoding each
//! alone costs). So a quiet channel waits for nothing, and a busy one spends
//! less a question the busier it is.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::answer::{Answer, Question};
use crate::search::Engine;

/// Questions answered in one batch, at most: enough for the model's batch
/// gain, few enough that the first of them does not wait long for the last.
const MAX_BATCH: usize = 8;

/// A question waiting, and where its answer (or why there is none) goes.
struct Waiting {
    engine: Arc<Engine>,
    question: Question,
    top: usize,
    reply: oneshot::Sender<Result<Answer, String>>,
}

/// The queue into the workers.
pub(crate) struct Batcher {
    queue: mpsc::UnboundedSender<Waiting>,
}

impl Batcher {
    /// Starts `workers` workers (on blocking threads, off the gateway's) and
    /// the task that hands them the queue. Must be called inside a Tokio runtime.
    pub fn start(workers: usize) -> Batcher {
        let (queue, waiting) = mpsc::unbounded_channel();
        tokio::spawn(dispatch(waiting, workers.max(1)));
        Batcher { queue }
    }

    /// `question`'s answer from `engine`, with `top` passages; the error
    /// says why the search failed or panicked.
    pub async fn ask(
        &self,
        engine: Arc<Engine>,
        question: Question,
        top: usize,
    ) -> Result<Answer, String> {
        let (reply, answer) = oneshot::channel();
        let waiting = Waiting {
            engine,
            question,
            top,
            reply,
        };
        if self.queue.send(waiting).is_err() {
            return Err("the search workers have stopped".to_string());
        }
        answer
            .await
            .unwrap_or_else(|_| Err("the search worker stopped before answering".to_string()))
    }
}

/// Takes the waiting questions to free workers: when one becomes free, its
/// share of those waiting, up to [`MAX_BATCH`].
async fn dispatch(mut waiting: mpsc::UnboundedReceiver<Waiting>, workers: usize) {
    let free = Arc::new(Semaphore::new(workers));
    while let Some(first) = waiting.recv().await {
        let Ok(worker) = Arc::clone(&free).acquire_owned().await else {
            return;
        };
        // A fair share of what waits, so that no worker sits idle while
        // another answers a long batch alone.
        let share = (1 + waiting.len()).div_ceil(workers).clamp(1, MAX_BATCH);
        let mut batch = vec![first];
        while batch.len() < share {
            match waiting.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        tokio::task::spawn_blocking(move || {
            answer_all(batch);
            drop(worker);
        });
    }
}

/// Answers a batch: together where they share an engine (the index may have
/// been swapped between two questions) and a number of passages.
fn answer_all(mut batch: Vec<Waiting>) {
    while let Some(first) = batch.first() {
        let (engine, top) = (Arc::clone(&first.engine), first.top);
        let (group, rest): (Vec<Waiting>, Vec<Waiting>) = batch
            .into_iter()
            .partition(|w| Arc::ptr_eq(&w.engine, &engine) && w.top == top);
        batch = rest;
        let (questions, replies): (Vec<Question>, Vec<_>) =
            group.into_iter().map(|w| (w.question, w.reply)).unzip();
        let answers =
            std::panic::catch_unwind(AssertUnwindSafe(|| engine.ask_many(&questions, top, 1)));
        match answers {
            Ok(answers) => {
                for (reply, answer) in replies.into_iter().zip(answers) {
                    // The asker may have gone (the bot shutting down): nothing to do then.
                    let _ = reply.send(answer.map_err(|e| e.to_string()));
                }
            }
            Err(panic) => {
                let why = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                for reply in replies {
                    let _ = reply.send(Err(format!("the search panicked: {why}")));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::Turn;
    use crate::testing::{corpus_with, engine_with_model};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn questions_and_follow_ups_asked_together_get_their_own_answers() {
        let dir = corpus_with(
            "# Pets\n\n## Cats\n\nCats purr when they are content.\n\n\
             ## Dogs\n\nDogs bark at strangers who come near the house.\n",
        );
        let engine = Arc::new(engine_with_model(&dir));
        // One worker: while it answers the first question the others wait,
        // and are answered together.
        let batcher = Arc::new(Batcher::start(1));
        let dogs = Turn {
            question: "what do dogs do".to_string(),
            answer: Some("Dogs bark at strangers who come near the house.".to_string()),
        };
        let asks: Vec<_> = (0..40)
            .map(|i| {
                let (batcher, engine) = (Arc::clone(&batcher), Arc::clone(&engine));
                let (text, top) = match i % 4 {
                    0 => ("why do cats purr", 1),
                    1 => ("what do dogs bark at", 1),
                    2 => ("what do dogs bark at", 2),
                    _ => ("and at whom?", 1),
                };
                // The last kind is a follow-up, batched with the others.
                let question = match i % 4 {
                    3 => Question::after(text, vec![dogs.clone()]),
                    _ => Question::new(text),
                };
                let asked = {
                    let question = question.clone();
                    async move { batcher.ask(engine, question, top).await }
                };
                (question, top, tokio::spawn(asked))
            })
            .collect();
        for (question, top, asked) in asks {
            let text = &question.text;
            let answer = asked.await.unwrap().unwrap();
            let alone = engine.ask(&question, top).unwrap();
            assert_eq!(answer.hits.len(), top, "{text}");
            assert_eq!(answer.hits[0].passage.text, alone.hits[0].passage.text);
            assert_eq!(answer.verdict, alone.verdict, "{text}");
            assert_eq!(answer.understood_as, alone.understood_as, "{text}");
        }
        assert!(engine
            .ask(&Question::after("and at whom?", vec![dogs]), 1)
            .unwrap()
            .understood_as
            .is_some());
    }
}
