//! Data augmentation of raw captured frames: random resized crop, horizontal flip and
//! brightness/contrast jitter, each view drawn from its own seeded stream.

use serde::{Deserialize, Serialize};

use crate::image::{Crop, RgbaView};
use crate::rng::Rng;

/// How augmented views of a frame are drawn.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AugmentConfig {
    /// Augmented views per training sample, besides the original (0 turns augmentation off).
    /// One by default: on Sign Language Digits with the default head, fewer views were as
    /// accurate or more (4: 80.1 / 87.8 / 91.5 % at 5 / 10 / 20 shots, 1: 79.9 / 88.3 / 92.3,
    /// none: 80.6 / 89.1 / 92.5; docs/performance.md), and each view is a backbone pass while
    /// the user records. One keeps some robustness to where the subject sits in the frame,
    /// which those centred photos do not test.
    pub views: usize,
    /// Smallest crop, as a fraction of the centre square's area.
    pub min_scale: f32,
    /// Largest aspect-ratio change of the crop (a factor; 1.0 keeps squares).
    pub max_aspect: f32,
    /// Whether views may be mirrored left to right.
    pub flip: bool,
    /// Largest brightness change, as a fraction of full scale.
    pub brightness: f32,
    /// Largest contrast change, as a factor around 1.
    pub contrast: f32,
}

impl Default for AugmentConfig {
    fn default() -> Self {
        Self {
            views: 1,
            min_scale: 0.6,
            max_aspect: 1.25,
            flip: true,
            brightness: 0.15,
            contrast: 0.15,
        }
    }
}

impl AugmentConfig {
    /// No augmented views.
    pub fn none() -> Self {
        Self {
            views: 0,
            ..Self::default()
        }
    }

    /// A random view of `image` at `size` x `size`, as planar RGB in 0..=255.
    pub fn view(&self, image: RgbaView<'_>, size: usize, rng: &mut Rng) -> [Vec<f32>; 3] {
        let side = image.width.min(image.height) as f32;
        let area = side * side * rng.range(self.min_scale.clamp(0.05, 1.0), 1.0);
        let aspect = rng
            .range(
                -self.max_aspect.max(1.0).ln(),
                self.max_aspect.max(1.0).ln(),
            )
            .exp();
        let width = (area * aspect).sqrt().min(image.width as f32);
        let height = (area / aspect).sqrt().min(image.height as f32);
        let crop = Crop {
            x: rng.range(0.0, image.width as f32 - width + 1.0).floor(),
            y: rng.range(0.0, image.height as f32 - height + 1.0).floor(),
            width,
            height,
            mirror: self.flip && rng.unit() < 0.5,
        };
        let mut planes = image.resize_crop(crop, size);
        let contrast = rng.range(1.0 - self.contrast, 1.0 + self.contrast);
        let brightness = rng.range(-self.brightness, self.brightness) * 255.0;
        let mean = planes.iter().flatten().sum::<f32>() / (3 * size * size) as f32;
        for value in planes.iter_mut().flatten() {
            *value = ((*value - mean) * contrast + mean + brightness).clamp(0.0, 255.0);
        }
        planes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_are_seeded_and_in_range() {
        let pixels: Vec<u8> = (0..32 * 24 * 4).map(|i| (i * 7 % 256) as u8).collect();
        let image = RgbaView::new(32, 24, &pixels).unwrap();
        let config = AugmentConfig::default();
        let a = config.view(image, 16, &mut Rng::new(3));
        let b = config.view(image, 16, &mut Rng::new(3));
        let c = config.view(image, 16, &mut Rng::new(4));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.iter().flatten().all(|v| (0.0..=255.0).contains(v)));
    }
}
