//! Image sources from JavaScript: `ImageData`, `<img>`, `<video>`, `<canvas>`, `ImageBitmap`
//! or `OffscreenCanvas`, read as RGBA pixels (drawn through an `OffscreenCanvas`, so this
//! works in a page and in a worker).

use crate::web::error::EngineError;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{
    HtmlCanvasElement, HtmlImageElement, HtmlVideoElement, ImageBitmap, ImageData, OffscreenCanvas,
    OffscreenCanvasRenderingContext2d,
};

use crate::image::RgbaImage;

/// Longest side a source is read at: the backbone needs 224 px, augmentation crops a little.
const MAX_SIDE: u32 = 640;

#[wasm_bindgen]
extern "C" {
    /// What `addSample` and `predict` take.
    #[wasm_bindgen(
        typescript_type = "ImageData | HTMLImageElement | HTMLVideoElement | HTMLCanvasElement | ImageBitmap | OffscreenCanvas"
    )]
    pub type ImageSource;

    /// What `addSample` takes: an image source, or an image file.
    #[wasm_bindgen(
        typescript_type = "ImageData | HTMLImageElement | HTMLVideoElement | HTMLCanvasElement | ImageBitmap | OffscreenCanvas | Blob"
    )]
    pub type SampleSource;
}

/// The pixels of `source`, scaled down to at most [`MAX_SIDE`] pixels on a side.
pub fn read(source: &JsValue) -> Result<RgbaImage, EngineError> {
    if let Some(data) = source.dyn_ref::<ImageData>() {
        if data.width().max(data.height()) <= MAX_SIDE {
            return Ok(RgbaImage {
                width: data.width() as usize,
                height: data.height() as usize,
                pixels: data.data().0,
            });
        }
        // Too big to copy whole into the wasm memory: drawn scaled down like the other sources.
        let canvas = OffscreenCanvas::new(data.width(), data.height())
            .map_err(|e| EngineError::invalid(format!("cannot make a canvas: {e:?}")))?;
        context_2d(&canvas)?
            .put_image_data(data, 0.0, 0.0)
            .map_err(|e| EngineError::invalid(format!("cannot draw the pixels: {e:?}")))?;
        return read(&canvas);
    }
    let (width, height) = size(source)?;
    if width == 0 || height == 0 {
        return Err(EngineError::invalid(
            "the image source has no pixels yet (an image still loading, or a video without a frame)",
        ));
    }
    let scale = (MAX_SIDE as f64 / width.max(height) as f64).min(1.0);
    let (w, h) = (
        ((width as f64 * scale).round() as u32).max(1),
        ((height as f64 * scale).round() as u32).max(1),
    );
    let canvas = OffscreenCanvas::new(w, h)
        .map_err(|e| EngineError::invalid(format!("cannot make a canvas: {e:?}")))?;
    let context = context_2d(&canvas)?;
    let (dw, dh) = (w as f64, h as f64);
    let drawn = if let Some(image) = source.dyn_ref::<HtmlImageElement>() {
        context.draw_image_with_html_image_element_and_dw_and_dh(image, 0.0, 0.0, dw, dh)
    } else if let Some(video) = source.dyn_ref::<HtmlVideoElement>() {
        context.draw_image_with_html_video_element_and_dw_and_dh(video, 0.0, 0.0, dw, dh)
    } else if let Some(element) = source.dyn_ref::<HtmlCanvasElement>() {
        context.draw_image_with_html_canvas_element_and_dw_and_dh(element, 0.0, 0.0, dw, dh)
    } else if let Some(bitmap) = source.dyn_ref::<ImageBitmap>() {
        context.draw_image_with_image_bitmap_and_dw_and_dh(bitmap, 0.0, 0.0, dw, dh)
    } else {
        let offscreen = source.unchecked_ref::<OffscreenCanvas>();
        context.draw_image_with_offscreen_canvas_and_dw_and_dh(offscreen, 0.0, 0.0, dw, dh)
    };
    drawn.map_err(|e| {
        EngineError::invalid(format!(
            "cannot read the image source (a cross-origin image without CORS?): {e:?}"
        ))
    })?;
    let data = context.get_image_data(0.0, 0.0, dw, dh).map_err(|e| {
        EngineError::invalid(format!(
            "cannot read the image source's pixels (cross-origin without CORS?): {e:?}"
        ))
    })?;
    Ok(RgbaImage {
        width: w as usize,
        height: h as usize,
        pixels: data.data().0,
    })
}

/// The 2-D context of `canvas`.
pub fn context_2d(
    canvas: &OffscreenCanvas,
) -> Result<OffscreenCanvasRenderingContext2d, EngineError> {
    canvas
        .get_context("2d")
        .ok()
        .flatten()
        .and_then(|c| c.dyn_into::<OffscreenCanvasRenderingContext2d>().ok())
        .ok_or_else(|| EngineError::invalid("cannot draw on a canvas here"))
}

/// Width and height of a drawable source, or an error naming what was passed instead.
fn size(source: &JsValue) -> Result<(u32, u32), EngineError> {
    if let Some(image) = source.dyn_ref::<HtmlImageElement>() {
        Ok((image.natural_width(), image.natural_height()))
    } else if let Some(video) = source.dyn_ref::<HtmlVideoElement>() {
        Ok((video.video_width(), video.video_height()))
    } else if let Some(canvas) = source.dyn_ref::<HtmlCanvasElement>() {
        Ok((canvas.width(), canvas.height()))
    } else if let Some(bitmap) = source.dyn_ref::<ImageBitmap>() {
        Ok((bitmap.width(), bitmap.height()))
    } else if let Some(canvas) = source.dyn_ref::<OffscreenCanvas>() {
        Ok((canvas.width(), canvas.height()))
    } else {
        let kind = source.js_typeof().as_string().unwrap_or_default();
        Err(EngineError::invalid(format!(
            "expected ImageData, an <img>, <video> or <canvas> element, an ImageBitmap or an OffscreenCanvas, got {kind}"
        )))
    }
}
