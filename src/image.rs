//! Image preprocessing shared by every backbone: centre square crop, bilinear resize to the
//! backbone's input size, and the backbone's own normalization, into an NCHW tensor.

use std::fmt;

use burn::tensor::{Device, Tensor, TensorData};

use crate::backbone::BackboneKind;

/// Largest accepted side of an input image, in pixels.
pub const MAX_SIDE: usize = 16_384;

/// A borrowed RGBA8 image (the layout of the web's `ImageData`).
#[derive(Debug, Clone, Copy)]
pub struct RgbaView<'a> {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `width * height * 4` bytes, row-major RGBA.
    pub pixels: &'a [u8],
}

/// Why an image cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageError {
    /// Width or height is zero.
    Empty,
    /// A side exceeds [`MAX_SIDE`].
    TooLarge {
        /// Width in pixels.
        width: usize,
        /// Height in pixels.
        height: usize,
    },
    /// The pixel buffer does not match the stated size.
    SizeMismatch {
        /// Bytes required by the size.
        expected: usize,
        /// Bytes given.
        found: usize,
    },
    /// The file could not be decoded.
    Decode(String),
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "the image is empty"),
            Self::TooLarge { width, height } => {
                write!(
                    f,
                    "the image is {width}x{height}; the largest side allowed is {MAX_SIDE}"
                )
            }
            Self::SizeMismatch { expected, found } => {
                write!(f, "expected {expected} bytes of RGBA pixels, found {found}")
            }
            Self::Decode(message) => write!(f, "cannot decode the image: {message}"),
        }
    }
}

impl std::error::Error for ImageError {}

impl<'a> RgbaView<'a> {
    /// Checks that `pixels` holds a `width` x `height` RGBA image.
    pub fn new(width: usize, height: usize, pixels: &'a [u8]) -> Result<Self, ImageError> {
        if width == 0 || height == 0 {
            return Err(ImageError::Empty);
        }
        if width > MAX_SIDE || height > MAX_SIDE {
            return Err(ImageError::TooLarge { width, height });
        }
        let expected = width * height * 4;
        if pixels.len() != expected {
            return Err(ImageError::SizeMismatch {
                expected,
                found: pixels.len(),
            });
        }
        Ok(Self {
            width,
            height,
            pixels,
        })
    }

    /// The centre square, resized bilinearly (half-pixel centres, as TF2 and PyTorch with
    /// `align_corners=False`) to `size` x `size`, as planar RGB in 0..=255.
    pub fn center_square(&self, size: usize) -> [Vec<f32>; 3] {
        let side = self.width.min(self.height) as f32;
        let crop = Crop {
            x: ((self.width - self.width.min(self.height)) / 2) as f32,
            y: ((self.height - self.width.min(self.height)) / 2) as f32,
            width: side,
            height: side,
            mirror: false,
        };
        self.resize_crop(crop, size)
    }

    /// The region `crop`, resized bilinearly (half-pixel centres) to `size` x `size`, as planar
    /// RGB in 0..=255. Samples clamp to the crop's (and the image's) border.
    pub fn resize_crop(&self, crop: Crop, size: usize) -> [Vec<f32>; 3] {
        // Source coordinate pair and weight of each output row/column.
        let taps =
            |start: f32, extent: f32, limit: usize, mirror: bool| -> Vec<(usize, usize, f32)> {
                let scale = extent / size as f32;
                // Samples stay inside both the crop and the image.
                let first = start.max(0.0).min((limit - 1) as f32).floor();
                let last = ((start + extent).min(limit as f32) - 1.0)
                    .max(first)
                    .floor();
                (0..size)
                    .map(|i| {
                        let i = if mirror { size - 1 - i } else { i };
                        let s = (start + (i as f32 + 0.5) * scale - 0.5).clamp(first, last);
                        let lo = s.floor() as usize;
                        (lo, (lo + 1).min(last as usize), s - lo as f32)
                    })
                    .collect()
            };
        let xs = taps(crop.x, crop.width, self.width, crop.mirror);
        let ys = taps(crop.y, crop.height, self.height, false);
        let mut planes = [
            vec![0.0; size * size],
            vec![0.0; size * size],
            vec![0.0; size * size],
        ];
        let px = |x: usize, y: usize, c: usize| self.pixels[(y * self.width + x) * 4 + c] as f32;
        for (oy, &(y_lo, y_hi, wy)) in ys.iter().enumerate() {
            for (ox, &(x_lo, x_hi, wx)) in xs.iter().enumerate() {
                for (c, plane) in planes.iter_mut().enumerate() {
                    let top = px(x_lo, y_lo, c) * (1.0 - wx) + px(x_hi, y_lo, c) * wx;
                    let bottom = px(x_lo, y_hi, c) * (1.0 - wx) + px(x_hi, y_hi, c) * wx;
                    plane[oy * size + ox] = top * (1.0 - wy) + bottom * wy;
                }
            }
        }
        planes
    }
}

/// A rectangle of an image, in pixels, optionally mirrored left to right.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crop {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
    /// Whether the crop is flipped horizontally.
    pub mirror: bool,
}

/// Preprocesses images for `kind` into one batch.
///
/// # Shapes
/// - output: `[images.len(), 3, size, size]` with `size = kind.input_size()`
pub fn preprocess(images: &[RgbaView<'_>], kind: BackboneKind, device: &Device) -> Tensor<4> {
    let size = kind.input_size();
    batch(
        images.iter().map(|image| image.center_square(size)),
        kind,
        device,
    )
}

/// Normalizes planar RGB images (0..=255, from [`RgbaView::resize_crop`]) for `kind` into one
/// batch.
///
/// # Shapes
/// - output: `[count, 3, size, size]` with `size = kind.input_size()`
pub fn batch(
    images: impl IntoIterator<Item = [Vec<f32>; 3]>,
    kind: BackboneKind,
    device: &Device,
) -> Tensor<4> {
    let size = kind.input_size();
    let norm = kind.normalization();
    let mut values = Vec::new();
    let mut count = 0;
    for planes in images {
        count += 1;
        for (c, plane) in planes.into_iter().enumerate() {
            let (scale, offset) = (norm.scale[c], norm.offset[c]);
            values.extend(plane.into_iter().map(|v| v * scale + offset));
        }
    }
    Tensor::from_data(TensorData::new(values, [count, 3, size, size]), device)
}

/// An owned RGBA8 image.
#[derive(Debug, Clone)]
pub struct RgbaImage {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Row-major RGBA bytes.
    pub pixels: Vec<u8>,
}

impl RgbaImage {
    /// Borrows the image.
    pub fn view(&self) -> RgbaView<'_> {
        RgbaView {
            width: self.width,
            height: self.height,
            pixels: &self.pixels,
        }
    }

    /// Decodes a PNG, JPEG or BMP file's bytes.
    #[cfg(not(target_family = "wasm"))]
    pub fn decode(bytes: &[u8]) -> Result<Self, ImageError> {
        let decoded =
            image::load_from_memory(bytes).map_err(|e| ImageError::Decode(e.to_string()))?;
        let rgba = decoded.to_rgba8();
        let (width, height) = (rgba.width() as usize, rgba.height() as usize);
        RgbaView::new(width, height, rgba.as_raw())?;
        Ok(Self {
            width,
            height,
            pixels: rgba.into_raw(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn center_square_crops_the_middle_of_a_wide_image() {
        // 4x2 image: columns 0 and 3 red, columns 1 and 2 green.
        let mut pixels = Vec::new();
        for _ in 0..2 {
            for x in 0..4 {
                pixels.extend(if x == 0 || x == 3 {
                    [255, 0, 0, 255]
                } else {
                    [0, 255, 0, 255]
                });
            }
        }
        let view = RgbaView::new(4, 2, &pixels).unwrap();
        let [r, g, _] = view.center_square(2);
        assert_eq!(r, vec![0.0; 4]);
        assert_eq!(g, vec![255.0; 4]);
    }

    #[test]
    fn mirrored_crop_flips_columns() {
        // 2x1 image: red then green.
        let pixels = [255, 0, 0, 255, 0, 255, 0, 255];
        let view = RgbaView::new(2, 1, &pixels).unwrap();
        let crop = Crop {
            x: 0.0,
            y: 0.0,
            width: 2.0,
            height: 1.0,
            mirror: true,
        };
        let [r, g, _] = view.resize_crop(crop, 2);
        assert_eq!((r[0], g[0]), (0.0, 255.0));
        assert_eq!((r[3], g[3]), (255.0, 0.0));
    }

    #[test]
    fn wrong_buffer_sizes_are_rejected() {
        assert_eq!(
            RgbaView::new(2, 2, &[0; 15]).unwrap_err(),
            ImageError::SizeMismatch {
                expected: 16,
                found: 15
            }
        );
        assert_eq!(RgbaView::new(0, 2, &[]).unwrap_err(), ImageError::Empty);
    }
}
