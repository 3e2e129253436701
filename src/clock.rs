//! Time and cooperative yielding that work the same natively and in a browser (where
//! `std::time::Instant` does not exist and a long loop must hand control back to the page).

/// Milliseconds since an arbitrary origin (`performance.now()` in a browser).
pub fn now_ms() -> f64 {
    #[cfg(target_family = "wasm")]
    {
        let performance = js_sys::Reflect::get(&js_sys::global(), &"performance".into()).ok();
        let now = performance
            .as_ref()
            .and_then(|p| js_sys::Reflect::get(p, &"now".into()).ok());
        match (
            performance,
            now.and_then(|f| wasm_bindgen::JsCast::dyn_into::<js_sys::Function>(f).ok()),
        ) {
            (Some(p), Some(f)) => f
                .call0(&p)
                .ok()
                .and_then(|v| v.as_f64())
                .unwrap_or_else(js_sys::Date::now),
            _ => js_sys::Date::now(),
        }
    }
    #[cfg(not(target_family = "wasm"))]
    {
        use std::sync::OnceLock;
        use std::time::Instant;
        static ORIGIN: OnceLock<Instant> = OnceLock::new();
        ORIGIN.get_or_init(Instant::now).elapsed().as_secs_f64() * 1e3
    }
}

/// Lets the page handle events (clicks on Cancel, repaints) during long work; natively a no-op.
/// A message to itself through a `MessageChannel`, a task like any other but, unlike
/// `setTimeout(0)` from a timer, never held back 4 ms (browsers clamp nested timers): long
/// work yields every few tens of milliseconds, so the clamp would cost it about a tenth.
pub async fn yield_now() {
    #[cfg(target_family = "wasm")]
    {
        let promise = js_sys::Promise::new(&mut |resolve, _reject| {
            let sent = js_sys::Reflect::get(&js_sys::global(), &"MessageChannel".into())
                .ok()
                .and_then(|c| wasm_bindgen::JsCast::dyn_into::<js_sys::Function>(c).ok())
                .and_then(|c| js_sys::Reflect::construct(&c, &js_sys::Array::new()).ok())
                .and_then(|channel| {
                    let port = |name: &str| js_sys::Reflect::get(&channel, &name.into()).ok();
                    let (receiver, sender) = (port("port1")?, port("port2")?);
                    js_sys::Reflect::set(&receiver, &"onmessage".into(), &resolve).ok()?;
                    let post = js_sys::Reflect::get(&sender, &"postMessage".into()).ok()?;
                    let post = wasm_bindgen::JsCast::dyn_into::<js_sys::Function>(post).ok()?;
                    post.call1(&sender, &wasm_bindgen::JsValue::NULL).ok()
                })
                .is_some();
            if !sent {
                let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
            }
        });
        // The promise only resolves.
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }
}

/// Yields to the event loop for `ms` milliseconds (`setTimeout`, in a window or a worker).
#[cfg(target_family = "wasm")]
pub(crate) async fn sleep_ms(ms: i32) {
    use wasm_bindgen::{JsCast, JsValue};
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let global = js_sys::global();
        let set_timeout = js_sys::Reflect::get(&global, &"setTimeout".into())
            .ok()
            .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
        match set_timeout {
            Some(f) => {
                let _ = f.call2(&global, &resolve, &JsValue::from(ms));
            }
            None => {
                let _ = resolve.call0(&JsValue::NULL);
            }
        }
    });
    // The promise only resolves.
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
