//! A hash map split into shards, so that growing never moves the whole table at once.
//!
//! The per-reward maps hold hundreds of thousands of entries and are written under the state lock.
//! A single `HashMap` doubles in one step when full: every entry is moved while the lock is held, and
//! every request waits (tens to hundreds of milliseconds at a few hundred thousand rewards). With
//! [`SHARDS`] shards each doubling is 1/64 of the work, and since the shards fill at slightly
//! different rates the doublings are spread over time instead of stacked.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, Hash};

/// foldhash, seeded per process (random seed, so not predictable from outside): these maps are hashed several times per request and SipHash showed
/// at 5 % of the trigger path's CPU. Keys are the server's own ids and keyed digests.
pub type Seeded = foldhash::fast::RandomState;

/// A `HashMap` with the [`Seeded`] hasher, for the state's other per-request lookups.
pub type FastMap<K, V> = HashMap<K, V, Seeded>;

/// Number of shards.
pub const SHARDS: usize = 64;

/// A map of `K` to `V` in [`SHARDS`] independently growing shards.
#[derive(Clone, Debug)]
pub struct Sharded<K, V> {
    shards: Vec<HashMap<K, V, Seeded>>,
    pick: Seeded,
}

impl<K: Hash + Eq, V> Sharded<K, V> {
    /// An empty map: its shards allocate nothing until they get their first entry, so a mock that
    /// stores nothing holds only the shards' headers.
    pub fn new() -> Self {
        Sharded {
            shards: (0..SHARDS)
                .map(|_| HashMap::with_hasher(Seeded::default()))
                .collect(),
            pick: Seeded::default(),
        }
    }

    fn shard<Q: Hash + ?Sized>(&self, k: &Q) -> usize {
        // `Borrow` guarantees `K` and `Q` hash alike, so both pick the same shard.
        (self.pick.hash_one(k) % SHARDS as u64) as usize
    }

    /// The value of a key.
    pub fn get<Q>(&self, k: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shards[self.shard(k)].get(k)
    }

    /// The value of a key, mutably.
    pub fn get_mut<Q>(&mut self, k: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let i = self.shard(k);
        self.shards[i].get_mut(k)
    }

    /// Inserts, returning the previous value.
    #[cfg(test)]
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        let i = self.shard(&k);
        self.shards[i].insert(k, v)
    }

    /// Removes, returning the value.
    #[cfg(test)]
    pub fn remove<Q>(&mut self, k: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let i = self.shard(k);
        self.shards[i].remove(k)
    }

    /// The entry of a key.
    pub fn entry(&mut self, k: K) -> Entry<'_, K, V> {
        let i = self.shard(&k);
        self.shards[i].entry(k)
    }

    /// Keeps only the entries `keep` returns true for.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        for s in &mut self.shards {
            s.retain(&mut keep);
        }
    }

    /// Number of entries.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.shards.iter().map(HashMap::len).sum()
    }
}

impl<K: Hash + Eq, V> Default for Sharded<K, V> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K, Q, V> std::ops::Index<&Q> for Sharded<K, V>
where
    K: Hash + Eq + Borrow<Q>,
    Q: Hash + Eq + ?Sized,
{
    type Output = V;

    fn index(&self, k: &Q) -> &V {
        self.get(k).expect("no entry for this key")
    }
}

#[cfg(test)]
mod tests {
    use super::Sharded;

    #[test]
    fn behaves_like_one_map() {
        let mut m: Sharded<String, u32> = Sharded::new();
        for i in 0..1000u32 {
            assert_eq!(m.insert(format!("k{i}"), i), None);
        }
        assert_eq!(m.len(), 1000);
        assert_eq!(m.get("k7"), Some(&7));
        assert_eq!(m["k999"], 999);
        *m.get_mut("k7").unwrap() += 1;
        *m.entry("k8".to_string()).or_default() += 10;
        assert_eq!((m["k7"], m["k8"]), (8, 18));
        assert_eq!(m.remove("k1"), Some(1));
        assert!(m.get("k1").is_none());
        m.retain(|_, v| *v % 2 == 0);
        assert_eq!(m.len(), 501, "the 500 even values, plus k7 made even");
        assert!(m.get("k7").is_some() && m.get("k3").is_none());
    }
}
