//! [Web Locks](https://developer.mozilla.org/en-US/docs/Web/API/LockManager/request) and
//! timers, through `js_sys::Reflect` so no unstable `web-sys` API is needed.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

/// `navigator.locks`, where the browser has it (secure contexts, which include localhost).
pub(super) fn lock_manager() -> Option<JsValue> {
    let window = web_sys::window()?;
    let locks = Reflect::get(&window.navigator(), &"locks".into()).ok()?;
    (!locks.is_undefined() && !locks.is_null()).then_some(locks)
}

/// Runs `future` while holding the Web Lock `name` (exclusive); without Web Locks, just runs it.
/// `None` when the task started under the lock but its result never came back (the lock request
/// failed after the grant).
pub(super) async fn with_lock<T: 'static>(
    name: &str,
    future: impl Future<Output = T> + 'static,
) -> Option<T> {
    let pending = Rc::new(RefCell::new(Some(future)));
    if let Some(locks) = lock_manager() {
        let slot: Rc<RefCell<Option<T>>> = Rc::default();
        let (task, out) = (pending.clone(), slot.clone());
        let granted = Closure::once(move |_lock: JsValue| -> Promise {
            let task = task.borrow_mut().take();
            future_to_promise(async move {
                if let Some(task) = task {
                    *out.borrow_mut() = Some(task.await);
                }
                Ok(JsValue::UNDEFINED)
            })
        });
        let request = Reflect::get(&locks, &"request".into())
            .ok()
            .and_then(|r| r.dyn_into::<Function>().ok());
        if let Some(request) = request {
            let name = JsValue::from(name);
            if let Ok(promise) = request.call2(&locks, &name, granted.as_ref().unchecked_ref()) {
                if let Ok(promise) = promise.dyn_into::<Promise>() {
                    let _ = JsFuture::from(promise).await;
                }
            }
        }
        let done = slot.borrow_mut().take();
        if done.is_some() {
            return done;
        }
    }
    // No Web Locks, or the request failed before running the task: run it unlocked.
    let task = pending.borrow_mut().take()?;
    Some(task.await)
}

/// Resolves after `ms` milliseconds (`setTimeout`).
pub(crate) async fn sleep(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}
