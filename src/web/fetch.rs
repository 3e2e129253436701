//! Fetching bytes (works in a window and in a worker), and files handed over as bytes or URLs.

use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;

fn describe(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

/// GETs `url` and returns the body.
pub async fn bytes(url: &str) -> Result<Vec<u8>, String> {
    let global = js_sys::global();
    let fetch = Reflect::get(&global, &"fetch".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        .ok_or("fetch is not available here")?;
    let promise: Promise = fetch
        .call1(&global, &url.into())
        .map_err(describe)?
        .dyn_into()
        .map_err(|_| "fetch did not return a Promise")?;
    let response: Response = JsFuture::from(promise)
        .await
        .map_err(|e| format!("cannot fetch {url}: {}", describe(e)))?
        .dyn_into()
        .map_err(|_| "fetch did not return a Response")?;
    if !response.ok() {
        return Err(format!("cannot fetch {url}: HTTP {}", response.status()));
    }
    let buffer = JsFuture::from(response.array_buffer().map_err(describe)?)
        .await
        .map_err(|e| format!("cannot read {url}: {}", describe(e)))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// A file given as bytes (`Uint8Array` or `ArrayBuffer`) or as a URL to fetch; `what` names it
/// in the error.
pub async fn file_bytes(value: JsValue, what: &str) -> Result<Vec<u8>, String> {
    if let Some(url) = value.as_string() {
        return bytes(&url).await;
    }
    if let Some(buffer) = value.dyn_ref::<js_sys::ArrayBuffer>() {
        return Ok(Uint8Array::new(buffer).to_vec());
    }
    value
        .dyn_into::<Uint8Array>()
        .map(|bytes| bytes.to_vec())
        .map_err(|_| format!("expected {what} as a Uint8Array, an ArrayBuffer or a URL"))
}
