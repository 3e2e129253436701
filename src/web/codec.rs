//! Image files in the browser: RGBA pixels to JPEG or PNG (through `OffscreenCanvas`) and back
//! (through `createImageBitmap`), so project files need no image codec in the wasm. Works in a
//! page and in a worker.

use js_sys::{Array, Function, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{Clamped, JsCast};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, ImageBitmap, ImageData, ImageEncodeOptions, OffscreenCanvas, OffscreenCanvasRenderingContext2d};

use super::{js_error, source};
use crate::image::RgbaImage;

/// How images are written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ImageFormat {
    /// JPEG at a quality in 0..=1.
    Jpeg(f64),
    /// Lossless PNG.
    Png,
}

impl ImageFormat {
    /// The file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg(_) => "jpg",
            Self::Png => "png",
        }
    }
}

/// `image` as a JPEG or PNG file.
pub async fn encode(image: &RgbaImage, format: ImageFormat) -> Result<Vec<u8>, JsError> {
    let (width, height) = (image.width as u32, image.height as u32);
    let canvas = OffscreenCanvas::new(width, height).map_err(|e| js_error(format!("cannot make a canvas: {e:?}")))?;
    let context = canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<OffscreenCanvasRenderingContext2d>().ok())
        .ok_or_else(|| js_error("cannot draw on a canvas here"))?;
    // Made last: the ImageData views the wasm memory, which must not grow before it is drawn.
    let data = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&image.pixels), width, height)
        .map_err(|e| js_error(format!("cannot wrap the pixels: {e:?}")))?;
    context.put_image_data(&data, 0.0, 0.0).map_err(|e| js_error(format!("cannot draw the pixels: {e:?}")))?;
    let options = ImageEncodeOptions::new();
    match format {
        ImageFormat::Jpeg(quality) => {
            options.set_type("image/jpeg");
            options.set_quality(quality);
        }
        ImageFormat::Png => options.set_type("image/png"),
    }
    let promise = canvas.convert_to_blob_with_options(&options).map_err(|e| js_error(format!("cannot encode the image: {e:?}")))?;
    let blob: Blob = JsFuture::from(promise)
        .await
        .map_err(|e| js_error(format!("cannot encode the image: {e:?}")))?
        .unchecked_into();
    let buffer = JsFuture::from(blob.array_buffer()).await.map_err(|e| js_error(format!("cannot read the encoded image: {e:?}")))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// Decodes an image file (any format the browser reads) named `name`, scaled down like any
/// image source.
pub async fn decode(bytes: &[u8], name: &str) -> Result<RgbaImage, JsError> {
    let blob = Blob::new_with_u8_array_sequence(&Array::of1(&Uint8Array::from(bytes)))
        .map_err(|e| js_error(format!("{name}: {e:?}")))?;
    let global = js_sys::global();
    let create = Reflect::get(&global, &"createImageBitmap".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or_else(|| js_error("createImageBitmap is not available here"))?;
    let promise = create.call1(&global, &blob).map_err(|e| js_error(format!("{name}: {e:?}")))?;
    let bitmap: ImageBitmap = JsFuture::from(js_sys::Promise::resolve(&promise))
        .await
        .map_err(|_| js_error(format!("{name} is not an image this browser can decode")))?
        .unchecked_into();
    let image = source::read(&bitmap);
    bitmap.close();
    image
}
