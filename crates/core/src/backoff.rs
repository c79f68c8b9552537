//! Retry delays after failed sync cycles: exponential backoff with full jitter.
//!
//! After the `n`th consecutive failure the next attempt waits a uniformly random time in
//! `[0, min(cap, base · 2ⁿ⁻¹)]` ("full jitter", so many devices that failed together do not
//! retry together), but never less than [`MIN_DELAY_MS`] (no hot loop) and never less than the
//! server's `Retry-After`. A success resets the count. The policy is pure: the caller passes the
//! randomness in, so it is tested without timers.

use crate::transport::TransportError;

/// The smallest delay ever returned, so a zero draw cannot cause a hot loop.
pub const MIN_DELAY_MS: u64 = 100;

/// Exponential backoff parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Upper bound of the first delay.
    pub base_ms: u64,
    /// Upper bound of every delay (unless the server asks for longer with `Retry-After`).
    pub cap_ms: u64,
}

impl Default for Backoff {
    /// 1 second, doubling up to 5 minutes.
    fn default() -> Self {
        Self {
            base_ms: 1_000,
            cap_ms: 300_000,
        }
    }
}

impl Backoff {
    /// The delay before the next attempt after `failures` consecutive failures (≥ 1), given
    /// `random` in `[0, 1)` and the server's `Retry-After`, if it sent one.
    pub fn delay_ms(&self, failures: u32, retry_after_ms: Option<u64>, random: f64) -> u64 {
        let exponent = failures.saturating_sub(1).min(32);
        let ceiling = self.base_ms.saturating_mul(1 << exponent).min(self.cap_ms);
        let random = if random.is_finite() {
            random.clamp(0.0, 1.0)
        } else {
            0.0
        };
        // Truncation is the intent: a uniform draw over whole milliseconds.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let jittered = (ceiling as f64 * random) as u64;
        jittered.max(MIN_DELAY_MS).max(retry_after_ms.unwrap_or(0))
    }
}

/// Consecutive-failure bookkeeping for one sync loop.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retry {
    /// The policy.
    pub backoff: Backoff,
    /// Failures since the last success.
    pub failures: u32,
}

impl Retry {
    /// Records a failed cycle; returns the delay before retrying, or `None` when retrying would
    /// not help (a 4xx on the request as a whole, e.g. a bad token after `getToken` was retried):
    /// the loop then waits for the next trigger (a local write, `online`, the interval).
    pub fn on_failure(&mut self, error: &TransportError, random: f64) -> Option<u64> {
        if !error.is_retryable() {
            return None;
        }
        self.failures = self.failures.saturating_add(1);
        Some(
            self.backoff
                .delay_ms(self.failures, error.retry_after_ms(), random),
        )
    }

    /// Records a successful cycle: the next failure starts from the base delay again.
    pub fn on_success(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ceiling_doubles_from_one_second_to_five_minutes() {
        let b = Backoff::default();
        let ceilings: Vec<u64> = (1..=11).map(|n| b.delay_ms(n, None, 0.999_999_9)).collect();
        assert_eq!(ceilings[0], 999);
        assert_eq!(ceilings[1], 1_999);
        assert_eq!(ceilings[8], 255_999);
        assert_eq!(ceilings[9], 299_999);
        assert_eq!(ceilings[10], 299_999);
    }

    #[test]
    fn retry_after_is_honoured_and_zero_draws_are_floored() {
        let b = Backoff::default();
        assert_eq!(b.delay_ms(1, None, 0.0), MIN_DELAY_MS);
        assert_eq!(b.delay_ms(1, Some(30_000), 0.5), 30_000);
        assert_eq!(b.delay_ms(1, None, f64::NAN), MIN_DELAY_MS);
    }

    #[test]
    fn success_resets_and_client_errors_do_not_retry() {
        let mut r = Retry::default();
        let net = TransportError::Network("down".into());
        assert!(r.on_failure(&net, 0.999).unwrap() < 1_000);
        assert!(r.on_failure(&net, 0.999).unwrap() >= 1_000);
        r.on_success();
        assert!(r.on_failure(&net, 0.999).unwrap() < 1_000);
        let bad = TransportError::from_status(400, None, None);
        assert_eq!(r.on_failure(&bad, 0.5), None);
        let busy = TransportError::from_status(429, None, Some(7_000));
        assert_eq!(r.on_failure(&busy, 0.0), Some(7_000));
    }

    proptest! {
        #[test]
        fn delay_stays_within_bounds(n in 1u32..200, random in 0.0f64..1.0, after in proptest::option::of(0u64..1_000_000)) {
            let b = Backoff::default();
            let d = b.delay_ms(n, after, random);
            prop_assert!(d >= MIN_DELAY_MS);
            prop_assert!(d <= b.cap_ms.max(after.unwrap_or(0)));
            prop_assert!(d >= after.unwrap_or(0));
        }
    }
}
