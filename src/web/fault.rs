//! Engine faults. A Rust panic aborts the wasm instance in the middle of a call: that call's
//! promise never settles and the instance's state may be half-changed. The panic hook reports it
//! on the console and to the page's fault handler, so the page can drop this instance, start a
//! fresh one and rebuild its sessions from the work it keeps (samples, models).

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

thread_local! {
    /// The page's fault handler, called with the panic message.
    static HANDLER: RefCell<Option<js_sys::Function>> = const { RefCell::new(None) };
}

/// Installs the panic hook: the console gets the message and the stack, the fault handler the
/// message.
pub fn install_hook() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        let message = JsValue::from_str(&info.to_string().replace('\n', " "));
        HANDLER.with(|handler| {
            if let Ok(handler) = handler.try_borrow()
                && let Some(handler) = handler.as_ref()
            {
                // A handler that throws must not hide the panic: the hook has reported it already.
                let _ = handler.call1(&JsValue::NULL, &message);
            }
        });
    }));
}

/// Calls `handler(message)` when the engine panics (pass `null` to stop). After a fault this
/// instance of the module must not be used again: load a fresh one.
#[wasm_bindgen(js_name = onFault)]
pub fn on_fault(handler: Option<js_sys::Function>) {
    HANDLER.with(|slot| *slot.borrow_mut() = handler);
}

/// Panics on purpose, so a page can check that its fault handling recovers (the tests do).
#[wasm_bindgen(js_name = simulateFault)]
pub fn simulate_fault() {
    panic!("a fault simulated on request");
}
