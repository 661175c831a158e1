//! Sign-in attempts, limited with backoff per (client address, account) pair and, more
//! loosely, per address:
//!
//! - A pair gets [`FREE_PAIR_FAILURES`] failures; each further one locks the pair for
//!   [`FIRST_LOCK_S`] seconds, doubling with every failure up to [`MAX_LOCK_S`]. Guessing from
//!   one address is stopped, while the account's owner, signing in from elsewhere, is not
//!   locked out by someone else's failures.
//! - An address gets [`FREE_ADDRESS_FAILURES`] failures over all accounts before the same
//!   backoff applies to it, so one address cannot spray many accounts either.
//! - An attempt counts as a failure from the moment it starts (a success takes it back), so
//!   concurrent attempts cannot all slip in before the first one fails.
//! - Failures are forgotten [`FORGET_S`] seconds after the last one. Memory is bounded: past
//!   [`MAX_ENTRIES`], forgotten entries go first, then those with the fewest failures, so a
//!   flood of new addresses cannot push out (and thereby unlock) the addresses that are
//!   guessing hard.
//!
//! Per node: several nodes multiply the budget by their number, which still leaves guessing a
//! 256-bit secret hopeless while stopping floods.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::session::now_s;

pub const FREE_PAIR_FAILURES: u32 = 5;
pub const FREE_ADDRESS_FAILURES: u32 = 50;
pub const FIRST_LOCK_S: u64 = 30;
pub const MAX_LOCK_S: u64 = 15 * 60;
pub const FORGET_S: u64 = 3600;
/// Entries remembered at most.
const MAX_ENTRIES: usize = 10_000;

#[derive(Clone, Copy, Debug)]
struct Entry {
    failures: u32,
    last_failure: u64,
    locked_until: u64,
}

/// The keys one sign-in attempt counts against.
pub struct AttemptKeys {
    pair: String,
    address: String,
}

impl AttemptKeys {
    /// `address`: the limiter key of the client address; `account`: the account tried.
    pub fn new(address: &str, account: &str) -> Self {
        Self {
            pair: format!("{address}|{account}"),
            address: address.to_owned(),
        }
    }
}

#[derive(Default)]
pub struct SignInLimiter {
    entries: Mutex<HashMap<String, Entry>>,
}

fn lock_for(failures: u32, free: u32) -> u64 {
    match failures.checked_sub(free + 1) {
        None => 0,
        Some(extra) => FIRST_LOCK_S
            .saturating_mul(1u64 << extra.min(20))
            .min(MAX_LOCK_S),
    }
}

impl SignInLimiter {
    /// Starts an attempt: `false` (and nothing counted) while the pair or the address is
    /// locked; otherwise the attempt counts as a failure until [`SignInLimiter::succeeded`]
    /// takes it back.
    pub fn begin(&self, keys: &AttemptKeys) -> bool {
        self.begin_at(keys, now_s())
    }

    fn begin_at(&self, keys: &AttemptKeys, now: u64) -> bool {
        let Ok(mut map) = self.entries.lock() else {
            return false;
        };
        let locked = |key: &str| map.get(key).is_some_and(|e| now < e.locked_until);
        if locked(&keys.pair) || locked(&keys.address) {
            return false;
        }
        for (key, free) in [
            (&keys.pair, FREE_PAIR_FAILURES),
            (&keys.address, FREE_ADDRESS_FAILURES),
        ] {
            if !map.contains_key(key) && map.len() >= MAX_ENTRIES {
                make_room(&mut map, now);
            }
            let entry = map.entry(key.clone()).or_insert(Entry {
                failures: 0,
                last_failure: now,
                locked_until: 0,
            });
            if now.saturating_sub(entry.last_failure) >= FORGET_S {
                entry.failures = 0;
            }
            entry.failures = entry.failures.saturating_add(1);
            entry.last_failure = now;
            entry.locked_until = now.saturating_add(lock_for(entry.failures, free));
        }
        true
    }

    /// Takes back the attempt [`SignInLimiter::begin`] counted: the pair starts afresh, the
    /// address loses this one failure.
    pub fn succeeded(&self, keys: &AttemptKeys) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(&keys.pair);
            if let Some(entry) = map.get_mut(&keys.address) {
                entry.failures = entry.failures.saturating_sub(1);
                entry.locked_until = entry
                    .last_failure
                    .saturating_add(lock_for(entry.failures, FREE_ADDRESS_FAILURES));
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().map(|m| m.len()).unwrap_or(0)
    }
}

/// Frees a tenth of the entries: forgotten ones first, then the least failed, oldest first.
fn make_room(map: &mut HashMap<String, Entry>, now: u64) {
    map.retain(|_, e| now.saturating_sub(e.last_failure) < FORGET_S || now < e.locked_until);
    if map.len() < MAX_ENTRIES {
        return;
    }
    let mut ranked: Vec<(u32, u64, String)> = map
        .iter()
        .map(|(k, e)| (e.failures, e.last_failure, k.clone()))
        .collect();
    ranked.sort_unstable();
    for (_, _, key) in ranked.into_iter().take(MAX_ENTRIES / 10) {
        map.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000;

    #[test]
    fn a_pair_backs_off_after_its_free_failures() {
        let limiter = SignInLimiter::default();
        let keys = AttemptKeys::new("ip:1", "key:7");
        for _ in 0..=FREE_PAIR_FAILURES {
            assert!(limiter.begin_at(&keys, T0));
        }
        // Attempts still running count: the next one is refused at once, and for a while.
        assert!(!limiter.begin_at(&keys, T0));
        assert!(!limiter.begin_at(&keys, T0 + FIRST_LOCK_S - 1));
        assert!(limiter.begin_at(&keys, T0 + FIRST_LOCK_S));
        // Each further failure doubles the lock.
        assert!(!limiter.begin_at(&keys, T0 + 2 * FIRST_LOCK_S + FIRST_LOCK_S - 1));
        assert!(limiter.begin_at(&keys, T0 + FIRST_LOCK_S + 2 * FIRST_LOCK_S));
        // Up to the maximum.
        let mut now = T0 + 10_000;
        for _ in 0..30 {
            while !limiter.begin_at(&keys, now) {
                now += 1;
            }
        }
        assert!(!limiter.begin_at(&keys, now + MAX_LOCK_S - 1));
        assert!(limiter.begin_at(&keys, now + MAX_LOCK_S));
        // A success starts the pair afresh.
        limiter.succeeded(&keys);
        for _ in 0..=FREE_PAIR_FAILURES {
            assert!(limiter.begin_at(&keys, now + MAX_LOCK_S));
        }
    }

    #[test]
    fn someone_elses_failures_do_not_lock_the_account_out() {
        let limiter = SignInLimiter::default();
        let attacker = AttemptKeys::new("ip:6.6.6.6", "key:7");
        for _ in 0..20 {
            limiter.begin_at(&attacker, T0);
        }
        assert!(!limiter.begin_at(&attacker, T0));
        // The owner, from their own address, signs in.
        let owner = AttemptKeys::new("ip:10.0.0.1", "key:7");
        assert!(limiter.begin_at(&owner, T0));
        limiter.succeeded(&owner);
    }

    #[test]
    fn an_address_spraying_accounts_is_stopped() {
        let limiter = SignInLimiter::default();
        for account in 0..=FREE_ADDRESS_FAILURES {
            assert!(limiter.begin_at(&AttemptKeys::new("ip:1", &format!("key:{account}")), T0));
        }
        assert!(!limiter.begin_at(&AttemptKeys::new("ip:1", "key:fresh"), T0));
        assert!(limiter.begin_at(&AttemptKeys::new("ip:2", "key:fresh"), T0));
    }

    #[test]
    fn failures_are_forgotten_after_a_quiet_hour() {
        let limiter = SignInLimiter::default();
        let keys = AttemptKeys::new("ip:1", "key:7");
        for _ in 0..FREE_PAIR_FAILURES {
            assert!(limiter.begin_at(&keys, T0));
        }
        let later = T0 + FORGET_S;
        for _ in 0..=FREE_PAIR_FAILURES {
            assert!(limiter.begin_at(&keys, later));
        }
    }

    #[test]
    fn a_flood_of_new_addresses_neither_grows_memory_nor_unlocks_the_guessers() {
        let limiter = SignInLimiter::default();
        let guesser = AttemptKeys::new("ip:6.6.6.6", "key:7");
        for _ in 0..12 {
            limiter.begin_at(&guesser, T0);
        }
        assert!(!limiter.begin_at(&guesser, T0 + 1));
        for i in 0..3 * MAX_ENTRIES {
            limiter.begin_at(&AttemptKeys::new(&format!("ip:{i}"), "key:7"), T0 + 1);
            assert!(limiter.len() <= MAX_ENTRIES);
        }
        assert!(!limiter.begin_at(&guesser, T0 + 2));
    }
}
