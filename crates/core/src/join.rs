//! [`join`]: two futures at once on the current task, so the engine can store one batch while
//! the next is on the wire without an executor or a `futures` dependency.

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;

/// Runs `a` and `b` concurrently, polling `a` first each time, and returns both outputs.
///
/// Polling `a` first matters to its callers: the store requests `a` starts on its first poll
/// are issued before `b`'s (IndexedDB runs transactions with overlapping scopes in the order
/// they were created).
pub async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut out_a, mut out_b) = (None, None);
    poll_fn(|cx| {
        if out_a.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                out_a = Some(v);
            }
        }
        if out_b.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                out_b = Some(v);
            }
        }
        match (out_a.take(), out_b.take()) {
            (Some(a), Some(b)) => Poll::Ready((a, b)),
            (a, b) => {
                (out_a, out_b) = (a, b);
                Poll::Pending
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::future::{poll_fn, Future};
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use super::join;

    /// A future that is pending `n` times before it logs `name` and is ready.
    async fn after(n: usize, name: &'static str, log: &RefCell<Vec<&'static str>>) -> &'static str {
        let mut left = n;
        poll_fn(|cx| {
            if left == 0 {
                return Poll::Ready(());
            }
            left -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        })
        .await;
        log.borrow_mut().push(name);
        name
    }

    fn block_on<F: Future>(future: F) -> F::Output {
        let mut future = pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
        }
    }

    #[test]
    fn both_run_interleaved_and_both_outputs_come_back() {
        let log = RefCell::new(Vec::new());
        let out = block_on(join(after(3, "slow", &log), after(1, "fast", &log)));
        assert_eq!(out, ("slow", "fast"));
        assert_eq!(
            *log.borrow(),
            ["fast", "slow"],
            "the fast one finished first"
        );
    }

    #[test]
    fn a_is_polled_first() {
        let log = RefCell::new(Vec::new());
        block_on(join(after(0, "a", &log), after(0, "b", &log)));
        assert_eq!(*log.borrow(), ["a", "b"]);
    }
}
