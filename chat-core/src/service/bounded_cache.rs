//! [`BoundedCache`]: values loaded from the database, kept in memory up to a
//! total weight, trusted for a while, and never stored when a change raced
//! with their load. The membership and block caches are built on it.
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dashmap::DashMap;

/// What a value costs in a cache's capacity (e.g. the ids it holds); each
/// entry costs one more.
pub(crate) trait Weigh {
    fn weight(&self) -> usize;
}

/// Key -> value, at most `capacity` in weight.
///
/// Every change bumps `generation`; a loader takes it before reading the
/// database and hands it back with the value, which is not stored when a
/// change came in between (it may be stale), so the cache never holds a
/// value older than the last change it was told about. A change it was not
/// told about (a lost notice from another instance) is seen after `ttl` at
/// worst.
pub(crate) struct BoundedCache<K, V> {
    entries: DashMap<K, Entry<V>>,
    generation: AtomicU64,
    /// Weight held, over all entries.
    weight: AtomicUsize,
    capacity: usize,
    ttl: Duration,
}

struct Entry<V> {
    value: Arc<V>,
    loaded: Instant,
}

impl<V: Weigh> Entry<V> {
    fn weight(&self) -> usize {
        self.value.weight() + 1
    }
}

impl<K: Eq + Hash + Copy, V: Weigh> BoundedCache<K, V> {
    pub(crate) fn new(capacity: usize, ttl: Duration) -> Self {
        BoundedCache {
            entries: DashMap::new(),
            generation: AtomicU64::new(0),
            weight: AtomicUsize::new(0),
            capacity,
            ttl,
        }
    }

    /// The value of `key` if it was loaded less than `ttl` ago.
    pub(crate) fn fresh(&self, key: &K) -> Option<Arc<V>> {
        self.entries
            .get(key)
            .filter(|entry| entry.loaded.elapsed() < self.ttl)
            .map(|entry| entry.value.clone())
    }

    /// The value held for `key`, however old.
    pub(crate) fn held(&self, key: &K) -> Option<Arc<V>> {
        self.entries.get(key).map(|entry| entry.value.clone())
    }

    /// Taken before a load, handed back to [`store`](Self::store).
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Stores `value`, read at `loaded` after `generation` was taken, unless
    /// a change came since or it alone outweighs the capacity.
    pub(crate) fn store(&self, key: K, value: Arc<V>, loaded: Instant, generation: u64) {
        if self.generation() != generation {
            return;
        }
        let entry = Entry { value, loaded };
        let weight = entry.weight();
        if weight > self.capacity {
            return;
        }
        if self.weight.load(Ordering::Relaxed) + weight > self.capacity {
            self.make_room(weight);
        }
        self.weight.fetch_add(weight, Ordering::Relaxed);
        if let Some(old) = self.entries.insert(key, entry) {
            self.weight.fetch_sub(old.weight(), Ordering::Relaxed);
        }
    }

    /// Drops expired entries, then others (in no particular order) until an
    /// eighth of the capacity is free: one pass over the map per eighth of
    /// the capacity stored, so a full cache costs O(1) per store on average.
    fn make_room(&self, needed: usize) {
        let target = self
            .capacity
            .saturating_sub(needed)
            .saturating_sub(self.capacity / 8);
        let mut held = self.weight.load(Ordering::Relaxed);
        self.entries.retain(|_, entry| {
            if entry.loaded.elapsed() >= self.ttl || held > target {
                held = held.saturating_sub(entry.weight());
                self.weight.fetch_sub(entry.weight(), Ordering::Relaxed);
                false
            } else {
                true
            }
        });
    }

    /// Forgets `key` after a change.
    pub(crate) fn invalidate(&self, key: &K) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Some((_, old)) = self.entries.remove(key) {
            self.weight.fetch_sub(old.weight(), Ordering::Relaxed);
        }
    }

    /// Forgets everything (after missed invalidations).
    pub(crate) fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.retain(|_, entry| {
            self.weight.fetch_sub(entry.weight(), Ordering::Relaxed);
            false
        });
    }

    /// Entries and weight held.
    #[cfg(test)]
    pub(crate) fn usage(&self) -> (usize, usize) {
        (self.entries.len(), self.weight.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::{BoundedCache, Weigh};

    struct Ids(usize);

    impl Weigh for Ids {
        fn weight(&self) -> usize {
            self.0
        }
    }

    #[test]
    fn a_load_that_raced_with_a_change_is_not_stored() {
        let cache: BoundedCache<u32, Ids> = BoundedCache::new(100, Duration::from_secs(60));
        let before = cache.generation();
        cache.invalidate(&1);
        cache.store(1, Arc::new(Ids(3)), Instant::now(), before);
        assert!(cache.fresh(&1).is_none());
        cache.store(1, Arc::new(Ids(3)), Instant::now(), cache.generation());
        assert!(cache.fresh(&1).is_some());
        assert_eq!(cache.usage(), (1, 4));
    }

    #[test]
    fn the_weight_stays_within_the_capacity() {
        let cache: BoundedCache<u32, Ids> = BoundedCache::new(16, Duration::from_secs(60));
        for key in 0..100 {
            cache.store(key, Arc::new(Ids(3)), Instant::now(), cache.generation());
            assert!(cache.usage().1 <= 16, "{:?}", cache.usage());
        }
        cache.store(500, Arc::new(Ids(16)), Instant::now(), cache.generation());
        assert!(cache.held(&500).is_none(), "heavier than the whole cache");
        cache.clear();
        assert_eq!(cache.usage(), (0, 0));
    }
}
