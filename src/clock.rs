//! Time and cooperative yielding that work the same natively and in a browser (where
//! `std::time::Instant` does not exist and a long loop must hand control back to the page).

/// Milliseconds since an arbitrary origin (`performance.now()` in a browser).
pub fn now_ms() -> f64 {
    #[cfg(target_family = "wasm")]
    {
        let performance = js_sys::Reflect::get(&js_sys::global(), &"performance".into()).ok();
        performance
            .and_then(|p| method(&p, "now")?.call0(&p).ok())
            .and_then(|v| v.as_f64())
            .unwrap_or_else(js_sys::Date::now)
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
            let sent = method(&js_sys::global(), "MessageChannel")
                .and_then(|c| js_sys::Reflect::construct(&c, &js_sys::Array::new()).ok())
                .and_then(|channel| {
                    let port = |name: &str| js_sys::Reflect::get(&channel, &name.into()).ok();
                    let (receiver, sender) = (port("port1")?, port("port2")?);
                    js_sys::Reflect::set(&receiver, &"onmessage".into(), &resolve).ok()?;
                    let post = method(&sender, "postMessage")?;
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
    use wasm_bindgen::JsValue;
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        let global = js_sys::global();
        match method(&global, "setTimeout") {
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

/// The function `object[name]`, if it is one (a browser API looked up at run time).
#[cfg(target_family = "wasm")]
fn method(object: &wasm_bindgen::JsValue, name: &str) -> Option<js_sys::Function> {
    let value = js_sys::Reflect::get(object, &name.into()).ok()?;
    wasm_bindgen::JsCast::dyn_into::<js_sys::Function>(value).ok()
}
