//! Hybrid logical clock (HLC) stamps.
//!
//! A stamp is `(millis, counter, device)`. It orders writes for `newest_wins` without trusting
//! wall clocks alone: a device that has seen a stamp never issues a smaller one, and two stamps
//! with equal time and counter are ordered by device id, so every replica picks the same winner.
//!
//! On the wire a stamp is one string, `"<millis:15>-<counter:6>-<device>"`, whose byte order is
//! the stamp order (fixed-width digits), so servers can compare or index it as text.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Largest millisecond value a stamp can carry (15 decimal digits).
const MAX_MILLIS: u64 = 999_999_999_999_999;
/// Largest counter value a stamp can carry (6 decimal digits).
const MAX_COUNTER: u32 = 999_999;

/// One hybrid-logical-clock stamp; ordered by time, then counter, then device id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hlc {
    /// Physical part: milliseconds since the Unix epoch.
    pub millis: u64,
    /// Logical part: increments when several stamps share one millisecond.
    pub counter: u32,
    /// The device that issued the stamp; breaks ties.
    pub device: String,
}

/// Why a stamp string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid hybrid logical clock stamp {}: expected \"<millis:15>-<counter:6>-<device>\"",
    crate::error::Quoted(.0)
)]
pub struct ParseHlcError(pub String);

impl Hlc {
    /// A stamp with the given parts.
    pub fn new(millis: u64, counter: u32, device: impl Into<String>) -> Self {
        Self {
            millis,
            counter,
            device: device.into(),
        }
    }

    /// The stamp before every real stamp (time zero, empty device).
    pub fn zero() -> Self {
        Self::new(0, 0, "")
    }
}

impl Ord for Hlc {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.millis, self.counter, &self.device).cmp(&(other.millis, other.counter, &other.device))
    }
}

impl PartialOrd for Hlc {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Hlc {
    /// The stamp's wire form, `"<millis:15>-<counter:6>-<device>"`.
    fn text(&self) -> String {
        let mut text = String::with_capacity(23 + self.device.len());
        push_padded(&mut text, self.millis, 15);
        text.push('-');
        push_padded(&mut text, u64::from(self.counter), 6);
        text.push('-');
        text.push_str(&self.device);
        text
    }
}

/// Appends `n` in decimal, with leading zeros up to `width` digits (as `{:0width$}`).
fn push_padded(text: &mut String, mut n: u64, width: usize) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    const ZEROS: &str = "00000000000000000000";
    let len = digits.len() - start;
    text.push_str(ZEROS.get(..width.saturating_sub(len)).unwrap_or(ZEROS));
    // Only ASCII digits were written.
    text.push_str(std::str::from_utf8(&digits[start..]).unwrap_or_default());
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

impl FromStr for Hlc {
    type Err = ParseHlcError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseHlcError(s.to_owned());
        let mut parts = s.splitn(3, '-');
        let (Some(millis), Some(counter), Some(device)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(err());
        };
        if millis.len() != 15 || counter.len() != 6 || device.is_empty() {
            return Err(err());
        }
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(millis) || !all_digits(counter) {
            return Err(err());
        }
        Ok(Self {
            millis: millis.parse().map_err(|_| err())?,
            counter: counter.parse().map_err(|_| err())?,
            device: device.to_owned(),
        })
    }
}

impl Serialize for Hlc {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // One string: `collect_str` has serde_json escape each piece `Display` writes, down to
        // each padding zero, which was ~4 % of a push's instructions on the server.
        serializer.serialize_str(&self.text())
    }
}

impl<'de> Deserialize<'de> for Hlc {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The clock one device keeps: issues increasing stamps and absorbs the stamps it receives.
#[derive(Debug, Clone)]
pub struct HlcClock {
    last: Hlc,
}

impl HlcClock {
    /// A clock for `device` that has issued nothing yet.
    pub fn new(device: impl Into<String>) -> Self {
        Self {
            last: Hlc::new(0, 0, device),
        }
    }

    /// A clock for `device` that resumes after `last` (e.g. the newest stamp kept on disk).
    pub fn resume(device: impl Into<String>, last: &Hlc) -> Self {
        let mut clock = Self::new(device);
        clock.last.millis = last.millis;
        clock.last.counter = last.counter;
        clock
    }

    /// The device id this clock stamps with.
    pub fn device(&self) -> &str {
        &self.last.device
    }

    /// A new stamp, greater than every stamp issued or observed so far, given the wall time now.
    pub fn now(&mut self, wall_millis: u64) -> Hlc {
        let wall = wall_millis.min(MAX_MILLIS);
        if wall > self.last.millis {
            self.last.millis = wall;
            self.last.counter = 0;
        } else {
            self.bump();
        }
        self.last.clone()
    }

    /// Absorbs a stamp seen from elsewhere so later stamps sort after it.
    pub fn observe(&mut self, seen: &Hlc) {
        // A stamp beyond what the wire can carry counts as the last one it can.
        let seen = if seen.millis > MAX_MILLIS {
            (MAX_MILLIS, MAX_COUNTER)
        } else {
            (seen.millis, seen.counter.min(MAX_COUNTER))
        };
        if seen > (self.last.millis, self.last.counter) {
            (self.last.millis, self.last.counter) = seen;
        }
    }

    /// Advances the logical part; when it is exhausted the physical part moves on instead.
    /// At the last stamp a clock can carry it stays there: equal stamps tie (by device), where
    /// starting the counter again would issue stamps older than the ones before.
    fn bump(&mut self) {
        if self.last.counter < MAX_COUNTER {
            self.last.counter += 1;
        } else if self.last.millis < MAX_MILLIS {
            self.last.millis += 1;
            self.last.counter = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn text_round_trips_and_orders_like_the_stamp() {
        let a = Hlc::new(1_700_000_000_000, 3, "dev-a-1");
        let b = Hlc::new(1_700_000_000_000, 3, "dev-b");
        let text = a.to_string();
        assert_eq!(text, "001700000000000-000003-dev-a-1");
        assert_eq!(text.parse::<Hlc>().unwrap(), a);
        assert!(a < b);
        assert!(a.to_string() < b.to_string());
    }

    #[test]
    fn rejects_malformed_text() {
        for bad in [
            "",
            "1-2-x",
            "001700000000000-000003-",
            "00170000000000a-000003-d",
            "x",
        ] {
            assert!(bad.parse::<Hlc>().is_err(), "{bad}");
        }
    }

    #[test]
    fn clock_never_goes_back_even_when_the_wall_does() {
        let mut clock = HlcClock::new("d");
        let first = clock.now(1000);
        let second = clock.now(900);
        let third = clock.now(1000);
        assert!(first < second && second < third);
        assert_eq!(second.millis, 1000);
    }

    #[test]
    fn observed_stamps_are_passed() {
        let mut clock = HlcClock::new("a");
        clock.observe(&Hlc::new(5000, 7, "b"));
        let next = clock.now(10);
        assert_eq!((next.millis, next.counter), (5000, 8));
        assert!(next > Hlc::new(5000, 7, "b"));
    }

    #[test]
    fn a_clock_at_the_largest_stamp_never_goes_back() {
        let mut clock = HlcClock::resume("a", &Hlc::new(MAX_MILLIS, MAX_COUNTER - 1, "a"));
        let last = clock.now(u64::MAX);
        assert_eq!((last.millis, last.counter), (MAX_MILLIS, MAX_COUNTER));
        assert_eq!(clock.now(u64::MAX), last);
        clock.observe(&Hlc::new(u64::MAX, 0, "b"));
        assert_eq!(clock.now(0), last);
    }

    #[test]
    fn resume_continues_after_the_saved_stamp() {
        let mut clock = HlcClock::resume("a", &Hlc::new(42, 9, "a"));
        assert_eq!(clock.now(1), Hlc::new(42, 10, "a"));
    }

    proptest! {
        #[test]
        fn text_order_equals_stamp_order(
            a in (0u64..MAX_MILLIS, 0u32..MAX_COUNTER, "[a-z0-9-]{1,12}"),
            b in (0u64..MAX_MILLIS, 0u32..MAX_COUNTER, "[a-z0-9-]{1,12}"),
        ) {
            let a = Hlc::new(a.0, a.1, a.2);
            let b = Hlc::new(b.0, b.1, b.2);
            prop_assert_eq!(a.to_string().parse::<Hlc>().unwrap(), a.clone());
            prop_assert_eq!(a.cmp(&b), a.to_string().cmp(&b.to_string()));
        }

        #[test]
        fn text_is_the_zero_padded_format(
            millis in prop_oneof![0u64..2_000_000_000_000, any::<u64>()],
            counter in any::<u32>(),
            device in "[a-z0-9-]{0,12}",
        ) {
            let stamp = Hlc::new(millis, counter, device.clone());
            let expected = format!("{millis:015}-{counter:06}-{device}");
            prop_assert_eq!(stamp.to_string(), expected.clone());
            prop_assert_eq!(serde_json::to_string(&stamp).unwrap(), format!("\"{expected}\""));
        }

        #[test]
        fn stamps_strictly_increase(walls in proptest::collection::vec(0u64..10_000, 1..50)) {
            let mut clock = HlcClock::new("d");
            let mut prev = Hlc::zero();
            for wall in walls {
                let next = clock.now(wall);
                prop_assert!(next > prev);
                prev = next;
            }
        }
    }
}
