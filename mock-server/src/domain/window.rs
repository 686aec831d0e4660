//! Compact per-key fraud state: a sliding window of action times (velocity limits) and a small set of
//! customer digests (customers per device). Both are two words and allocate nothing for one element,
//! the common case: the maps holding them have an entry per customer, device and IP seen.

use std::collections::VecDeque;

/// Action times in Unix seconds, oldest first. One action is stored inline (no allocation) and the
/// type is two words: velocity keys are mostly seen once per hour, and a map holds one window per key.
#[derive(Clone, Debug, Default)]
pub enum Window {
    /// No action.
    #[default]
    Empty,
    /// One action.
    One(i64),
    /// Several actions.
    #[expect(
        clippy::box_collection,
        reason = "one pointer, not a Vec's three words, keeps the enum small"
    )]
    Many(Box<VecDeque<i64>>),
}

impl Window {
    /// Drops the actions at or before `since`.
    pub fn prune(&mut self, since: i64) {
        match self {
            Window::Empty => {}
            Window::One(t) => {
                if *t <= since {
                    *self = Window::Empty;
                }
            }
            Window::Many(q) => {
                while q.front().is_some_and(|t| *t <= since) {
                    q.pop_front();
                }
            }
        }
    }

    /// Number of actions.
    pub fn len(&self) -> usize {
        match self {
            Window::Empty => 0,
            Window::One(_) => 1,
            Window::Many(q) => q.len(),
        }
    }

    /// Whether there is no action.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The oldest action.
    pub fn oldest(&self) -> Option<i64> {
        match self {
            Window::Empty => None,
            Window::One(t) => Some(*t),
            Window::Many(q) => q.front().copied(),
        }
    }

    /// Takes back the newest action (the one [`Window::push`] added last).
    pub fn pop_newest(&mut self) {
        match self {
            Window::Empty => {}
            Window::One(_) => *self = Window::Empty,
            Window::Many(q) => {
                q.pop_back();
            }
        }
    }

    /// Appends an action (times are non-decreasing).
    pub fn push(&mut self, at: i64) {
        match self {
            Window::Empty => *self = Window::One(at),
            Window::One(t) => *self = Window::Many(Box::new(VecDeque::from([*t, at]))),
            Window::Many(q) => q.push_back(at),
        }
    }
}

/// A set of digests, in insertion order; one is stored inline.
#[derive(Clone, Debug, Default)]
pub enum DigestSet {
    /// None.
    #[default]
    Empty,
    /// One.
    One(u64),
    /// Several.
    #[expect(
        clippy::box_collection,
        reason = "one pointer, not a Vec's three words, keeps the enum small"
    )]
    Many(Box<Vec<u64>>),
}

impl DigestSet {
    /// Adds `d` unless present.
    pub fn insert(&mut self, d: u64) {
        match self {
            DigestSet::Empty => *self = DigestSet::One(d),
            DigestSet::One(x) if *x == d => {}
            DigestSet::One(x) => *self = DigestSet::Many(Box::new(vec![*x, d])),
            DigestSet::Many(v) => {
                if !v.contains(&d) {
                    v.push(d);
                }
            }
        }
    }

    /// Number of digests.
    pub fn len(&self) -> usize {
        match self {
            DigestSet::Empty => 0,
            DigestSet::One(_) => 1,
            DigestSet::Many(v) => v.len(),
        }
    }

    /// Whether there is none.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::{DigestSet, Window};

    #[test]
    fn digest_set_counts_distinct() {
        let mut s = DigestSet::default();
        assert!(s.is_empty());
        s.insert(7);
        s.insert(7);
        assert_eq!(s.len(), 1);
        s.insert(9);
        s.insert(7);
        s.insert(11);
        assert_eq!(s.len(), 3);
        assert_eq!(std::mem::size_of::<DigestSet>(), 16);
    }

    #[test]
    fn pop_newest_takes_back_the_last_push() {
        let mut w = Window::default();
        w.pop_newest();
        assert!(w.is_empty());
        w.push(10);
        w.pop_newest();
        assert!(w.is_empty());
        w.push(10);
        w.push(20);
        w.pop_newest();
        assert_eq!((w.len(), w.oldest()), (1, Some(10)));
    }

    #[test]
    fn is_two_words() {
        assert_eq!(std::mem::size_of::<Window>(), 16);
    }

    #[test]
    fn keeps_order_and_prunes_at_the_boundary() {
        let mut w = Window::default();
        assert!(w.is_empty());
        w.push(10);
        assert_eq!((w.len(), w.oldest()), (1, Some(10)));
        w.push(20);
        w.push(30);
        assert_eq!((w.len(), w.oldest()), (3, Some(10)));
        w.prune(20);
        assert_eq!((w.len(), w.oldest()), (1, Some(30)));
        w.prune(30);
        assert!(w.is_empty());
        let mut one = Window::One(5);
        one.prune(4);
        assert_eq!(one.oldest(), Some(5));
        one.prune(5);
        assert!(one.is_empty());
    }
}
