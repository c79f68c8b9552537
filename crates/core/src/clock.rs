//! The wall-clock port: what time it is, in milliseconds since the Unix epoch.
//!
//! The engine never reads the system time itself, so tests drive time by hand ([`ManualClock`])
//! and the browser reads `Date.now()`. Hybrid-logical-clock stamps are derived from this time by
//! [`crate::HlcClock`], which keeps them increasing even when the wall clock goes back.

use std::cell::Cell;

/// A source of wall time.
///
/// Contract: `now_millis` is cheap, never blocks and may go backwards (the engine copes).
pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_millis(&self) -> u64;
}

/// A clock that moves only when told to; for tests and simulations.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: Cell<u64>,
}

impl ManualClock {
    /// A clock reading `start`.
    pub fn new(start: u64) -> Self {
        Self {
            now: Cell::new(start),
        }
    }

    /// Moves the clock by `millis` (forwards only).
    pub fn advance(&self, millis: u64) {
        self.now.set(self.now.get() + millis);
    }

    /// Sets the clock to `millis`, which may be in the past.
    pub fn set(&self, millis: u64) {
        self.now.set(millis);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> u64 {
        self.now.get()
    }
}

/// The operating system's clock. Not available on `wasm32-unknown-unknown`, where
/// `std::time::SystemTime::now` panics; the browser crate implements [`Clock`] with `Date.now()`.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[cfg(not(target_arch = "wasm32"))]
impl Clock for SystemClock {
    fn now_millis(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now_millis(&self) -> u64 {
        (**self).now_millis()
    }
}

impl<C: Clock + ?Sized> Clock for std::rc::Rc<C> {
    fn now_millis(&self) -> u64 {
        (**self).now_millis()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(10);
        assert_eq!(clock.now_millis(), 10);
        clock.advance(5);
        assert_eq!(clock.now_millis(), 15);
        clock.set(3);
        let by_ref: &dyn Clock = &clock;
        assert_eq!(by_ref.now_millis(), 3);
    }

    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now_millis() > 1_577_836_800_000);
    }
}
