//! Sign-in attempts, limited per client address and per account: a password-guessing client
//! gets 429 after [`MAX_FAILURES`] failures within [`WINDOW_S`] seconds. An attempt counts as a
//! failure from the moment it starts (a success takes it back), so concurrent attempts cannot
//! all slip in before the first one fails. Per node: several nodes
//! multiply the budget by their number, which still leaves guessing a 256-bit secret hopeless
//! while stopping floods.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::session::now_s;

pub const MAX_FAILURES: u32 = 10;
pub const WINDOW_S: u64 = 300;
/// Keys remembered at most; past it, the oldest windows are forgotten.
const MAX_KEYS: usize = 10_000;

#[derive(Default)]
pub struct SignInLimiter {
    failures: Mutex<HashMap<String, (u64, u32)>>,
}

impl SignInLimiter {
    /// Starts an attempt: `false` (and nothing counted) when any of `keys` has used up its
    /// failures in the current window; otherwise the attempt counts as a failure until
    /// [`SignInLimiter::succeeded`] takes it back.
    pub fn begin(&self, keys: &[String]) -> bool {
        let now = now_s();
        {
            let Ok(map) = self.failures.lock() else {
                return false;
            };
            let blocked = keys.iter().any(|k| {
                map.get(k).is_some_and(|(start, n)| {
                    now.saturating_sub(*start) < WINDOW_S && *n >= MAX_FAILURES
                })
            });
            if blocked {
                return false;
            }
        }
        self.failed(keys);
        true
    }

    fn failed(&self, keys: &[String]) {
        let now = now_s();
        let Ok(mut map) = self.failures.lock() else {
            return;
        };
        if map.len() >= MAX_KEYS {
            map.retain(|_, (start, _)| now.saturating_sub(*start) < WINDOW_S);
        }
        if map.len() >= MAX_KEYS {
            // Still full within one window (a flood from many addresses): start over rather
            // than grow without bound.
            map.clear();
        }
        for key in keys {
            let entry = map.entry(key.clone()).or_insert((now, 0));
            if now.saturating_sub(entry.0) >= WINDOW_S {
                *entry = (now, 0);
            }
            entry.1 += 1;
        }
    }

    /// Takes back the attempt [`SignInLimiter::begin`] counted.
    pub fn succeeded(&self, keys: &[String]) {
        if let Ok(mut map) = self.failures.lock() {
            for key in keys {
                if let Some((_, n)) = map.get_mut(key) {
                    *n = n.saturating_sub(1);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_counts_attempts_as_they_start() {
        let limiter = SignInLimiter::default();
        let keys = ["ip:1".to_owned(), "key:7".to_owned()];
        for _ in 0..MAX_FAILURES {
            assert!(limiter.begin(&keys));
        }
        // Attempts still running count: the next one is refused at once.
        assert!(!limiter.begin(&keys));
        limiter.succeeded(&keys);
        assert!(limiter.begin(&keys));
        assert!(!limiter.begin(&keys));
        // Another address and account are not affected.
        assert!(limiter.begin(&["ip:2".to_owned(), "key:8".to_owned()]));
    }
}
