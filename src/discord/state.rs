//! What the bot remembers between events, each bounded so that memory stays
//! flat however long it runs: events already handled, when each user last
//! asked, the questions behind "More passages" buttons, and conversations.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serenity::all::UserId;

use crate::chat::Conversation;
use crate::feedback::Record;

/// How many event ids, and button questions, are remembered (the oldest go
/// first); users' last questions are swept once ten times as many are held.
pub(crate) const MAX_REMEMBERED: usize = 1000;

/// Event ids already handled: Discord may deliver an event twice.
#[derive(Default)]
pub(crate) struct Seen(Remembered<()>);

impl Seen {
    /// False when `id` was seen before.
    pub fn first_time(&self, id: u64) -> bool {
        self.0.remember(id, ())
    }
}

/// When each user last asked, for the per-user cooldown.
#[derive(Default)]
pub(crate) struct Cooldowns(Mutex<HashMap<UserId, Instant>>);

impl Cooldowns {
    /// `Some(wait)` when `user` asked less than `period` ago; otherwise
    /// records this question.
    pub fn check(&self, user: UserId, period: Duration) -> Option<Duration> {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if let Some(last) = map.get(&user) {
            let since = now.duration_since(*last);
            if since < period {
                return Some(period - since);
            }
        }
        map.insert(user, now);
        if map.len() > MAX_REMEMBERED * 10 {
            map.retain(|_, t| now.duration_since(*t) < period);
        }
        None
    }
}

/// What the bot remembers by a key, the oldest forgotten first past
/// [`MAX_REMEMBERED`]: the events seen, the question behind a "More
/// passages" button, the asker and the log record behind 👍/👎.
pub(crate) struct Remembered<T>(Mutex<(HashMap<u64, T>, VecDeque<u64>)>);

impl<T> Default for Remembered<T> {
    fn default() -> Self {
        Remembered(Mutex::new((HashMap::new(), VecDeque::new())))
    }
}

impl<T: Clone> Remembered<T> {
    /// Keeps `value` under `key`; says whether `key` was new.
    pub fn remember(&self, key: u64, value: T) -> bool {
        let mut more = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let new = more.0.insert(key, value).is_none();
        if new {
            more.1.push_back(key);
        }
        if more.1.len() > MAX_REMEMBERED {
            if let Some(old) = more.1.pop_front() {
                more.0.remove(&old);
            }
        }
        new
    }

    pub fn get(&self, key: u64) -> Option<T> {
        let more = self.0.lock().unwrap_or_else(|p| p.into_inner());
        more.0.get(&key).cloned()
    }
}

/// The questions behind "More passages" buttons.
pub(crate) type Questions = Remembered<String>;

/// Who asked each answer that has 👍/👎, and its log record.
pub(crate) type Ballots = Remembered<(UserId, Record)>;

/// Conversations kept at most this long after their last turn.
pub(crate) const CONVERSATION_AGE: Duration = Duration::from_secs(6 * 3600);

/// The bot's conversations, by the thread they are held in (or, where no
/// thread could be made, by the bot's answer that replies continue): at
/// most [`MAX_REMEMBERED`], none older than [`CONVERSATION_AGE`]. Lost on
/// a restart, which costs a follow-up its context and nothing else.
#[derive(Default)]
pub(crate) struct Conversations(Mutex<HashMap<u64, (Conversation, Instant)>>);

impl Conversations {
    /// The conversation held under `key`, if there is a live one.
    pub fn get(&self, key: u64) -> Option<Conversation> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&key)
            .filter(|(_, last)| last.elapsed() < CONVERSATION_AGE)
            .map(|(conversation, _)| conversation.clone())
    }

    /// Keeps `conversation` under `key`, forgetting the stale and, beyond the
    /// bound, the longest idle.
    pub fn put(&self, key: u64, conversation: Conversation) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(key, (conversation, Instant::now()));
        if map.len() > MAX_REMEMBERED {
            map.retain(|_, (_, last)| last.elapsed() < CONVERSATION_AGE);
        }
        while map.len() > MAX_REMEMBERED {
            let Some(idle) = map
                .iter()
                .min_by_key(|(_, (_, last))| *last)
                .map(|(k, _)| *k)
            else {
                break;
            };
            map.remove(&idle);
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_memory_stays_bounded() {
        let seen = Seen::default();
        let questions = Questions::default();
        for id in 0..(MAX_REMEMBERED as u64 * 3) {
            assert!(seen.first_time(id));
            questions.remember(id, "q".to_string());
        }
        assert!(!seen.first_time(MAX_REMEMBERED as u64 * 3 - 1));
        // The oldest are forgotten: the first id counts as new again.
        assert!(seen.first_time(0));
        assert_eq!(seen.0 .0.lock().unwrap().0.len(), MAX_REMEMBERED);
        assert_eq!(questions.0.lock().unwrap().0.len(), MAX_REMEMBERED);
        assert_eq!(questions.get(0), None);
        assert_eq!(
            questions.get(MAX_REMEMBERED as u64 * 3 - 1).as_deref(),
            Some("q")
        );

        let cooldowns = Cooldowns::default();
        let period = Duration::from_secs(60);
        assert_eq!(cooldowns.check(UserId::new(1), period), None);
        assert!(cooldowns.check(UserId::new(1), period).is_some());
        // Past the bound, users whose period is over are swept.
        for user in 2..(MAX_REMEMBERED as u64 * 10 + 5) {
            cooldowns.check(UserId::new(user), Duration::ZERO);
        }
        assert!(cooldowns.0.lock().unwrap().len() <= MAX_REMEMBERED * 10 + 1);
    }

    #[test]
    fn conversations_stay_bounded_keeping_the_latest() {
        let conversations = Conversations::default();
        for key in 0..(MAX_REMEMBERED as u64 + 50) {
            conversations.put(key, Conversation::new());
        }
        assert_eq!(conversations.len(), MAX_REMEMBERED);
        assert!(
            conversations.get(0).is_none(),
            "the longest idle went first"
        );
        assert!(conversations.get(MAX_REMEMBERED as u64 + 49).is_some());
    }
}
