//! A sliding window of action times (velocity limits), compact for the common case of one action.

use std::collections::VecDeque;

/// Action times in Unix seconds, oldest first. One action is stored inline (no allocation):
/// velocity keys are mostly seen once per hour.
#[derive(Clone, Debug, Default)]
pub enum Window {
    /// No action.
    #[default]
    Empty,
    /// One action.
    One(i64),
    /// Several actions.
    Many(VecDeque<i64>),
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

    /// Appends an action (times are non-decreasing).
    pub fn push(&mut self, at: i64) {
        match self {
            Window::Empty => *self = Window::One(at),
            Window::One(t) => *self = Window::Many(VecDeque::from([*t, at])),
            Window::Many(q) => q.push_back(at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Window;

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
