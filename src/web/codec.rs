//! Image files in the browser: RGBA pixels to JPEG or PNG (through `OffscreenCanvas`) and back
//! (through `createImageBitmap`), so project files need no image codec in the wasm. Works in a
//! page and in a worker.

use js_sys::{Array, Function, Reflect, Uint8Array};
use wasm_bindgen::{Clamped, JsCast};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, BlobPropertyBag, ImageBitmap, ImageData, ImageEncodeOptions, OffscreenCanvas};

use super::error::EngineError;
use super::source;
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
    /// The media type.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg(_) => "image/jpeg",
            Self::Png => "image/png",
        }
    }
}

/// `image` as a JPEG or PNG file.
pub async fn encode(image: &RgbaImage, format: ImageFormat) -> Result<Blob, EngineError> {
    let (width, height) = (image.width as u32, image.height as u32);
    let canvas = OffscreenCanvas::new(width, height)
        .map_err(|e| EngineError::invalid(format!("cannot make a canvas: {e:?}")))?;
    let context = source::context_2d(&canvas)?;
    // Made last: the ImageData views the wasm memory, which must not grow before it is drawn.
    let data = ImageData::new_with_u8_clamped_array_and_sh(Clamped(&image.pixels), width, height)
        .map_err(|e| EngineError::invalid(format!("cannot wrap the pixels: {e:?}")))?;
    context
        .put_image_data(&data, 0.0, 0.0)
        .map_err(|e| EngineError::invalid(format!("cannot draw the pixels: {e:?}")))?;
    let options = ImageEncodeOptions::new();
    options.set_type(format.mime());
    if let ImageFormat::Jpeg(quality) = format {
        options.set_quality(quality);
    }
    let promise = canvas
        .convert_to_blob_with_options(&options)
        .map_err(|e| EngineError::invalid(format!("cannot encode the image: {e:?}")))?;
    Ok(JsFuture::from(promise)
        .await
        .map_err(|e| EngineError::invalid(format!("cannot encode the image: {e:?}")))?
        .unchecked_into())
}

/// A file of `bytes` with the image type its first bytes name (JPEG, PNG, or none).
pub fn file(bytes: &[u8]) -> Result<Blob, EngineError> {
    let options = BlobPropertyBag::new();
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        options.set_type(ImageFormat::Jpeg(1.0).mime());
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        options.set_type(ImageFormat::Png.mime());
    }
    Blob::new_with_u8_array_sequence_and_options(&Array::of1(&Uint8Array::from(bytes)), &options)
        .map_err(|e| EngineError::invalid(format!("cannot make a file: {e:?}")))
}

/// The bytes of `file`.
pub async fn bytes(file: &Blob) -> Result<Vec<u8>, EngineError> {
    let buffer = JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| EngineError::invalid(format!("cannot read the image file: {e:?}")))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// Decodes an image file (any format the browser reads) named `name`, scaled down like any
/// image source.
pub async fn decode(blob: &Blob, name: &str) -> Result<RgbaImage, EngineError> {
    let global = js_sys::global();
    let create = Reflect::get(&global, &"createImageBitmap".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or_else(|| EngineError::invalid("createImageBitmap is not available here"))?;
    let promise = create
        .call1(&global, blob)
        .map_err(|e| EngineError::invalid(format!("{name}: {e:?}")))?;
    let bitmap: ImageBitmap = JsFuture::from(js_sys::Promise::resolve(&promise))
        .await
        .map_err(|_| {
            EngineError::invalid(format!("{name} is not an image this browser can decode"))
        })?
        .unchecked_into();
    let image = source::read(&bitmap);
    bitmap.close();
    image
}
