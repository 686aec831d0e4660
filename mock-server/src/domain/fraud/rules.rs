//! The fraud rules and their one set of defaults.
//!
//! - **Velocity**: at most N actions per hour per customer, per device id and per IP, each counted
//!   per campaign; a trigger over a limit is refused `429 velocity_limit_exceeded` with the
//!   `Retry-After` at which the window's oldest action leaves it, and counts nowhere.
//! - **Shared device**: more than N customers rewarded on one device id hold the reward for review.

use chrono::{DateTime, Duration, Utc};
use http::StatusCode;

use crate::domain::errors::{ApiError, ApiResult};
use crate::domain::model::{FraudSettings, RewardFlag};
use crate::domain::shard::Sharded;
use crate::domain::window::{DigestSet, Window};

/// The limits a campaign applies: its [`FraudSettings`] with [`DEFAULTS`] for what it leaves out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Actions per customer per hour.
    pub actions_per_customer_per_hour: i64,
    /// Actions per device id per hour.
    pub actions_per_device_per_hour: i64,
    /// Actions per IP per hour.
    pub actions_per_ip_per_hour: i64,
    /// Customers rewarded on one device id before its rewards are held.
    pub customers_per_device: i64,
}

/// The defaults (`docs/api.md`, FraudSettings).
pub const DEFAULTS: Limits = Limits {
    actions_per_customer_per_hour: 20,
    actions_per_device_per_hour: 30,
    actions_per_ip_per_hour: 100,
    customers_per_device: 3,
};

/// The range every limit must be in.
pub const LIMIT_RANGE: std::ops::RangeInclusive<i64> = 1..=1_000_000;

impl Limits {
    /// The limits of these settings.
    pub fn of(s: &FraudSettings) -> Limits {
        Limits {
            actions_per_customer_per_hour: s
                .max_actions_per_customer_per_hour
                .unwrap_or(DEFAULTS.actions_per_customer_per_hour),
            actions_per_device_per_hour: s
                .max_actions_per_device_per_hour
                .unwrap_or(DEFAULTS.actions_per_device_per_hour),
            actions_per_ip_per_hour: s
                .max_actions_per_ip_per_hour
                .unwrap_or(DEFAULTS.actions_per_ip_per_hour),
            customers_per_device: s
                .max_customers_per_device
                .unwrap_or(DEFAULTS.customers_per_device),
        }
    }

    /// As settings with every field set (how a campaign shows them).
    pub fn settings(self) -> FraudSettings {
        FraudSettings {
            max_actions_per_customer_per_hour: Some(self.actions_per_customer_per_hour),
            max_actions_per_device_per_hour: Some(self.actions_per_device_per_hour),
            max_actions_per_ip_per_hour: Some(self.actions_per_ip_per_hour),
            max_customers_per_device: Some(self.customers_per_device),
        }
    }
}

/// Refuses a limit outside [`LIMIT_RANGE`], naming it (`fraud.max_…`).
pub fn validate(s: &FraudSettings) -> ApiResult<()> {
    for (v, name) in [
        (
            s.max_actions_per_customer_per_hour,
            "max_actions_per_customer_per_hour",
        ),
        (
            s.max_actions_per_device_per_hour,
            "max_actions_per_device_per_hour",
        ),
        (s.max_actions_per_ip_per_hour, "max_actions_per_ip_per_hour"),
        (s.max_customers_per_device, "max_customers_per_device"),
    ] {
        if let Some(v) = v
            && !LIMIT_RANGE.contains(&v)
        {
            return Err(ApiError::validation(
                format!("fraud.{name}"),
                format!(
                    "`fraud.{name}` must be {}–{}.",
                    LIMIT_RANGE.start(),
                    LIMIT_RANGE.end()
                ),
            ));
        }
    }
    Ok(())
}

/// What a velocity window counts by; its name is the limit's reason code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Velocity {
    /// Per customer.
    Customer,
    /// Per device id.
    Device,
    /// Per IP.
    Ip,
}

impl Velocity {
    /// `velocity_customer`, `velocity_device`, `velocity_ip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Velocity::Customer => "velocity_customer",
            Velocity::Device => "velocity_device",
            Velocity::Ip => "velocity_ip",
        }
    }

    /// This kind's limit.
    pub fn limit(self, l: &Limits) -> i64 {
        match self {
            Velocity::Customer => l.actions_per_customer_per_hour,
            Velocity::Device => l.actions_per_device_per_hour,
            Velocity::Ip => l.actions_per_ip_per_hour,
        }
    }
}

/// One window a trigger is counted in: its key's digest (of campaign, kind and key), its kind and limit.
pub type Counted = (u64, Velocity, i64);

/// What the rules remember: velocity windows and the customers seen per device. Keys are digests
/// (`Sandbox::digest`), so no customer id, device id or IP is stored here.
pub struct FraudState {
    windows: Sharded<u64, Window>,
    device_customers: Sharded<u64, DigestSet>,
    last_sweep: DateTime<Utc>,
}

impl FraudState {
    /// Empty (nothing allocated before the first counted action); `now` is the server's time.
    pub fn new(now: DateTime<Utc>) -> FraudState {
        FraudState {
            windows: Sharded::new(),
            device_customers: Sharded::new(),
            last_sweep: now,
        }
    }

    /// Counts an action at `now` in each window, or — when one is at its limit — refuses with
    /// `429 velocity_limit_exceeded` and counts it in none. One lookup per window: each is counted
    /// as it passes, and a window at its limit takes back the counts of the windows before it.
    pub fn count_velocity(&mut self, windows: &[Counted], now: DateTime<Utc>) -> ApiResult<()> {
        let (now_s, hour_ago_s) = (now.timestamp(), (now - Duration::hours(1)).timestamp());
        for (i, &(digest, kind, max)) in windows.iter().enumerate() {
            let w = self.windows.entry(digest).or_default();
            w.prune(hour_ago_s);
            if w.len() as i64 >= max {
                let oldest = w.oldest().expect("non-empty at the limit");
                let wait = (oldest + 3600 - now_s).max(1) as u64;
                for (counted, _, _) in &windows[..i] {
                    if let Some(w) = self.windows.get_mut(counted) {
                        w.pop_newest();
                    }
                }
                return Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "velocity_limit_exceeded",
                    format!("Too many actions in the last hour ({}).", kind.as_str()),
                )
                .retry_after(wait));
            }
            w.push(now_s);
        }
        Ok(())
    }

    /// Records a customer rewarded on a device (digests of (campaign, device) and of the customer);
    /// the flag that holds the reward when the device now has more customers than `limits` allow.
    pub fn shared_device(
        &mut self,
        device: u64,
        customer: u64,
        limits: &Limits,
    ) -> Option<Box<RewardFlag>> {
        let seen = self.device_customers.entry(device).or_default();
        seen.insert(customer);
        (seen.len() as i64 > limits.customers_per_device).then(|| {
            Box::new(RewardFlag {
                reason_code: "device_shared".into(),
                decision: "held".into(),
                decided_at: None,
            })
        })
    }

    /// Drops velocity windows with no action in the last hour, at most once per hour of server
    /// time, so memory follows the traffic of the last hour instead of growing forever.
    pub fn sweep_if_due(&mut self, now: DateTime<Utc>) {
        if now - self.last_sweep < Duration::hours(1) {
            return;
        }
        self.last_sweep = now;
        let hour_ago = (now - Duration::hours(1)).timestamp();
        self.windows.retain(|_, w| {
            w.prune(hour_ago);
            !w.is_empty()
        });
    }

    /// Velocity windows held (for memory tests).
    #[cfg(test)]
    pub fn windows_len(&self) -> usize {
        self.windows.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn a_refused_action_counts_in_no_window_and_retry_after_is_exact() {
        let mut f = FraudState::new(at(0));
        let windows = [(1, Velocity::Customer, 5), (2, Velocity::Device, 2)];
        f.count_velocity(&windows, at(0)).unwrap();
        f.count_velocity(&windows, at(100)).unwrap();
        let e = f.count_velocity(&windows, at(200)).unwrap_err();
        assert_eq!(
            (e.code, e.retry_after),
            ("velocity_limit_exceeded", Some(3400))
        );
        assert!(e.message.contains("velocity_device"));
        // The customer window took its count back: three more fit once the device has room.
        let customer_only = [(1, Velocity::Customer, 5)];
        for s in [300, 400, 500] {
            f.count_velocity(&customer_only, at(s)).unwrap();
        }
        assert!(f.count_velocity(&customer_only, at(600)).is_err());
        // An hour after the first action it leaves the window.
        assert!(f.count_velocity(&windows, at(3600)).is_ok());
    }

    #[test]
    fn defaults_fill_what_settings_leave_out_and_limits_are_checked() {
        let s = FraudSettings {
            max_actions_per_ip_per_hour: Some(7),
            ..FraudSettings::default()
        };
        let l = Limits::of(&s);
        assert_eq!(l.actions_per_ip_per_hour, 7);
        assert_eq!(
            l.actions_per_customer_per_hour,
            DEFAULTS.actions_per_customer_per_hour
        );
        assert_eq!(Limits::of(&l.settings()), l);
        let bad = FraudSettings {
            max_customers_per_device: Some(0),
            ..FraudSettings::default()
        };
        assert_eq!(
            validate(&bad).unwrap_err().param.as_deref(),
            Some("fraud.max_customers_per_device")
        );
    }

    #[test]
    fn a_device_is_flagged_past_its_customer_limit_and_sweeps_forget_idle_windows() {
        let mut f = FraudState::new(at(0));
        let limits = Limits {
            customers_per_device: 2,
            ..DEFAULTS
        };
        assert!(f.shared_device(9, 1, &limits).is_none());
        assert!(f.shared_device(9, 2, &limits).is_none());
        assert!(
            f.shared_device(9, 2, &limits).is_none(),
            "the same customer again"
        );
        assert_eq!(
            f.shared_device(9, 3, &limits).map(|fl| fl.reason_code),
            Some("device_shared".to_string())
        );
        f.count_velocity(&[(5, Velocity::Ip, 10)], at(0)).unwrap();
        f.sweep_if_due(at(1800));
        assert_eq!(f.windows_len(), 1, "not due before an hour");
        f.sweep_if_due(at(3601));
        assert_eq!(f.windows_len(), 0);
    }
}
