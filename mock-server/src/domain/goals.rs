//! Goals: the actions a customer has counted toward a goal moment ("5 workouts in 30 days"), in a
//! sliding window per (campaign, moment, customer).

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Duration, Utc};

use crate::domain::model::{Goal, Progress};

/// (campaign, moment, customer).
pub type GoalKey = (String, String, String);

/// Where a customer stands on a goal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    /// The sum of the counted actions' quantities.
    pub current: i64,
    /// When the oldest counted action happened.
    pub window_started_at: Option<DateTime<Utc>>,
}

impl Standing {
    /// The API's Progress for the goal of `key` (campaign, moment, customer).
    pub fn progress(self, key: GoalKey, goal: &Goal) -> Progress {
        let (campaign_id, moment_id, customer_id) = key;
        Progress {
            object: "progress".into(),
            campaign_id,
            moment_id,
            customer_id,
            current: self.current,
            target: goal.target,
            window_seconds: goal.window_seconds,
            window_started_at: self.window_started_at,
            completed: false,
        }
    }
}

/// The counted actions of every customer on every goal moment.
#[derive(Default)]
pub struct Goals {
    actions: HashMap<GoalKey, VecDeque<(DateTime<Utc>, i64)>>,
}

impl Goals {
    /// Counts an action of `quantity` at `now`. `None` when it meets the goal (the caller issues
    /// the reward and then [`consume`](Self::consume)s the counted actions); otherwise the action
    /// is kept and the standing after it returned. Actions older than the window no longer count.
    pub fn count(
        &mut self,
        key: GoalKey,
        goal: &Goal,
        quantity: i64,
        now: DateTime<Utc>,
    ) -> Option<Standing> {
        let since = now - Duration::seconds(goal.window_seconds);
        let q = self.actions.entry(key).or_default();
        while q.front().is_some_and(|(at, _)| *at <= since) {
            q.pop_front();
        }
        let current: i64 = q.iter().map(|(_, n)| n).sum::<i64>() + quantity;
        if current >= goal.target {
            return None;
        }
        q.push_back((now, quantity));
        Some(Standing {
            current,
            window_started_at: q.front().map(|(a, _)| *a),
        })
    }

    /// Forgets the counted actions of a goal that was met.
    pub fn consume(&mut self, key: &GoalKey) {
        self.actions.remove(key);
    }

    /// Where a customer stands at `now`, if they ever acted on this goal.
    pub fn standing(&self, key: &GoalKey, goal: &Goal, now: DateTime<Utc>) -> Option<Standing> {
        let since = now - Duration::seconds(goal.window_seconds);
        let counted: Vec<_> = self
            .actions
            .get(key)?
            .iter()
            .filter(|(at, _)| *at > since)
            .collect();
        Some(Standing {
            current: counted.iter().map(|(_, n)| n).sum(),
            window_started_at: counted.first().map(|(a, _)| *a),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn a_goal_is_met_within_its_window_and_old_actions_stop_counting() {
        let mut g = Goals::default();
        let goal = Goal {
            target: 3,
            window_seconds: 100,
        };
        let key = ("c".to_string(), "m".to_string(), "cu".to_string());
        assert_eq!(
            g.count(key.clone(), &goal, 1, at(0)).map(|s| s.current),
            Some(1)
        );
        assert_eq!(
            g.count(key.clone(), &goal, 1, at(50)).map(|s| s.current),
            Some(2)
        );
        // The first action leaves the window at 100: 1 + 1 again, not met.
        let s = g.count(key.clone(), &goal, 1, at(100)).expect("not met");
        assert_eq!((s.current, s.window_started_at), (2, Some(at(50))));
        assert_eq!(g.standing(&key, &goal, at(120)).map(|s| s.current), Some(2));
        assert_eq!(g.count(key.clone(), &goal, 1, at(120)), None, "met");
        g.consume(&key);
        assert_eq!(g.standing(&key, &goal, at(121)), None);
    }
}
