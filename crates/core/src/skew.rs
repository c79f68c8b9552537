//! How far a device's clock may be off: the server's bound on the stamps it accepts.
//!
//! `newest_wins` and `merge` order writes by their [`Hlc`] stamps, whose physical part is the
//! writing device's wall clock. A device whose clock is a year fast would win every conflict for
//! a year, and every device that pulls its records would carry its clock forward with them
//! ([`crate::HlcClock::observe`]): one wrong clock would move the whole fleet's stamps. A clock
//! that is slow makes the device lose every conflict, even with edits made after the others.
//!
//! So the server bounds each pushed stamp before it decides anything with it, given its own
//! time, the device's time when it sent the push (`deviceTime`) and the largest skew it
//! tolerates (`--max-clock-skew`):
//! 1. when the device's clock is off by more than the bound, the stamp moves by that offset,
//!    the best estimate of when the write was made by the server's clock (a device's clock is
//!    usually off by the same amount for days: a wrong date or time zone);
//! 2. a stamp still more than the bound ahead of the server's clock is set to the server's
//!    clock: the write counts as made when it arrived.
//!
//! A stamp the server stores is therefore never more than the bound ahead of its clock, and
//! neither is any stamp a device observes from it. Clocks within the bound are left alone.

use crate::Hlc;

/// The stamp the server should decide and store with in place of `stamp`, or `None` to keep it.
///
/// `server_now` is the server's time, `device_time` the device's wall time when it sent the
/// push (if it said), and `max_skew` the bound, all in milliseconds since the Unix epoch.
pub fn bounded_stamp(
    stamp: &Hlc,
    server_now: u64,
    device_time: Option<u64>,
    max_skew: u64,
) -> Option<Hlc> {
    let mut millis = stamp.millis;
    if let Some(device_time) = device_time {
        if device_time.abs_diff(server_now) > max_skew {
            // millis - device_time + server_now, without overflowing either way.
            millis = if server_now >= device_time {
                millis.saturating_add(server_now - device_time)
            } else {
                millis.saturating_sub(device_time - server_now)
            };
        }
    }
    if millis > server_now.saturating_add(max_skew) {
        millis = server_now;
    }
    (millis != stamp.millis).then(|| Hlc::new(millis, stamp.counter, stamp.device.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: u64 = 1_800_000_000_000;
    const MINUTE: u64 = 60_000;
    const YEAR: u64 = 365 * 24 * 3600 * 1000;

    fn stamp(millis: u64) -> Hlc {
        Hlc::new(millis, 7, "phone")
    }

    #[test]
    fn a_clock_within_the_bound_is_left_alone() {
        assert_eq!(
            bounded_stamp(&stamp(NOW - 5_000), NOW, Some(NOW + 30_000), MINUTE),
            None
        );
        assert_eq!(
            bounded_stamp(&stamp(NOW + MINUTE), NOW, Some(NOW), MINUTE),
            None
        );
        // An old stamp from a device whose clock is right: an edit made offline long ago.
        assert_eq!(
            bounded_stamp(&stamp(NOW - YEAR), NOW, Some(NOW), MINUTE),
            None
        );
    }

    #[test]
    fn a_fast_or_slow_clock_moves_its_stamps_by_its_offset() {
        // Written two hours ago by a clock a year fast, pushed now.
        let fast = bounded_stamp(
            &stamp(NOW + YEAR - 7_200_000),
            NOW,
            Some(NOW + YEAR),
            MINUTE,
        );
        assert_eq!(fast, Some(Hlc::new(NOW - 7_200_000, 7, "phone")));
        // The same with a clock a year slow.
        let slow = bounded_stamp(
            &stamp(NOW - YEAR - 7_200_000),
            NOW,
            Some(NOW - YEAR),
            MINUTE,
        );
        assert_eq!(slow, Some(Hlc::new(NOW - 7_200_000, 7, "phone")));
    }

    #[test]
    fn a_stamp_still_ahead_counts_as_made_when_it_arrived() {
        // No device time, or a right one: only the stamp is wrong (a clock since corrected).
        assert_eq!(
            bounded_stamp(&stamp(NOW + YEAR), NOW, None, MINUTE),
            Some(stamp(NOW))
        );
        assert_eq!(
            bounded_stamp(&stamp(u64::MAX), NOW, Some(NOW), MINUTE),
            Some(stamp(NOW))
        );
        // A slow device whose stamps came from a stamp it observed, not from its clock.
        let observed = bounded_stamp(&stamp(NOW - 1_000), NOW, Some(NOW - YEAR), MINUTE);
        assert_eq!(observed, Some(stamp(NOW)));
    }

    proptest! {
        #[test]
        fn a_bounded_stamp_is_never_beyond_the_bound(
            millis in any::<u64>(),
            now in 0u64..4_000_000_000_000,
            device_time in proptest::option::of(any::<u64>()),
            max_skew in 0u64..YEAR,
        ) {
            let original = stamp(millis);
            let bounded = bounded_stamp(&original, now, device_time, max_skew);
            let kept = bounded.clone().unwrap_or_else(|| original.clone());
            prop_assert!(kept.millis <= now.saturating_add(max_skew));
            prop_assert_eq!((kept.counter, kept.device.as_str()), (7, "phone"));
            // `None` means unchanged, never an equal copy.
            prop_assert!(bounded.as_ref().is_none_or(|b| b.millis != millis));
            // A device whose clock agrees with the server's keeps every stamp within the bound.
            if device_time.is_some_and(|t| t.abs_diff(now) <= max_skew)
                && millis <= now.saturating_add(max_skew)
            {
                prop_assert_eq!(bounded, None);
            }
        }
    }
}
