//! Sign-in attempts, limited per client address and per API key: a password-guessing client
//! gets 429 after [`MAX_FAILURES`] failures within [`WINDOW_S`] seconds. Per node: several nodes
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
    /// Whether any of `keys` has used up its failures in the current window.
    pub fn blocked(&self, keys: &[String]) -> bool {
        let now = now_s();
        let Ok(map) = self.failures.lock() else {
            return true;
        };
        keys.iter().any(|k| {
            map.get(k).is_some_and(|(start, n)| {
                now.saturating_sub(*start) < WINDOW_S && *n >= MAX_FAILURES
            })
        })
    }

    pub fn failed(&self, keys: &[String]) {
        let now = now_s();
        let Ok(mut map) = self.failures.lock() else {
            return;
        };
        if map.len() >= MAX_KEYS {
            map.retain(|_, (start, _)| now.saturating_sub(*start) < WINDOW_S);
        }
        for key in keys {
            let entry = map.entry(key.clone()).or_insert((now, 0));
            if now.saturating_sub(entry.0) >= WINDOW_S {
                *entry = (now, 0);
            }
            entry.1 += 1;
        }
    }

    pub fn succeeded(&self, keys: &[String]) {
        if let Ok(mut map) = self.failures.lock() {
            for key in keys {
                map.remove(key);
            }
        }
    }
}
