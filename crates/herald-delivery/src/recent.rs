//! The few values a worker used last, kept by key: a message's content and a partner's
//! copy of it are read once while the worker sends that message's deliveries over many
//! rounds of leases, not once a round, and the least recently used goes first when room
//! runs out.

use std::collections::HashMap;
use std::hash::Hash;

/// At most `capacity` values by key, the least recently used dropped to make room.
pub struct Recent<K, V> {
    capacity: usize,
    /// Counts uses: each entry keeps the count of its last one.
    clock: u64,
    entries: HashMap<K, (u64, V)>,
}

impl<K: Hash + Eq + Clone, V: Clone> Recent<K, V> {
    /// Room for `capacity` values (at least one).
    pub fn new(capacity: usize) -> Recent<K, V> {
        Recent {
            capacity: capacity.max(1),
            clock: 0,
            entries: HashMap::new(),
        }
    }

    /// The value kept for `key`, now the most recently used.
    pub fn get(&mut self, key: &K) -> Option<V> {
        self.clock += 1;
        let (used, value) = self.entries.get_mut(key)?;
        *used = self.clock;
        Some(value.clone())
    }

    /// Keeps `value` for `key`, dropping the least recently used value when full.
    pub fn insert(&mut self, key: K, value: V) {
        self.clock += 1;
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            let oldest = self
                .entries
                .iter()
                .min_by_key(|(_, (used, _))| *used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.entries.remove(&oldest);
            }
        }
        self.entries.insert(key, (self.clock, value));
    }
}

#[cfg(test)]
mod tests {
    use super::Recent;

    #[test]
    fn the_least_recently_used_value_makes_room() {
        let mut recent = Recent::new(2);
        recent.insert("a", 1);
        recent.insert("b", 2);
        assert_eq!(recent.get(&"a"), Some(1));
        recent.insert("c", 3);
        assert_eq!(recent.get(&"b"), None, "b was used least recently");
        assert_eq!(recent.get(&"a"), Some(1));
        assert_eq!(recent.get(&"c"), Some(3));
    }

    #[test]
    fn a_value_kept_again_replaces_the_old_one_and_drops_nothing() {
        let mut recent = Recent::new(2);
        recent.insert("a", 1);
        recent.insert("b", 2);
        recent.insert("a", 10);
        assert_eq!(recent.get(&"a"), Some(10));
        assert_eq!(recent.get(&"b"), Some(2));
    }
}
