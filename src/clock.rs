//! [`JsClock`]: core's [`Clock`] port read from [`Date.now()`](https://developer.mozilla.org/en-US/docs/Web/JavaScript/Reference/Global_Objects/Date/now).

use ferrysync_core::Clock;

/// The browser's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct JsClock;

impl Clock for JsClock {
    fn now_millis(&self) -> u64 {
        // Date.now() is a whole, non-negative number of milliseconds.
        let now = js_sys::Date::now();
        if now.is_finite() && now > 0.0 {
            now as u64
        } else {
            0
        }
    }
}
