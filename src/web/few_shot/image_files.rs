//! The image files a session keeps (a JPEG of each captured frame, or the file an app
//! handed in, shared, not copied), held by the browser outside the wasm memory. A 320 px frame
//! is about 20 KB as a JPEG instead of 400 KB of pixels, so 20,000 samples fit. Frames are
//! decoded again only to re-embed them (other augmentation or fine-tune settings, a loaded
//! project) and to save a project in another format; what a session embeds is always the
//! decoded file, so a saved and reloaded project embeds the same pixels.

use web_sys::Blob;

use crate::augment::AugmentConfig;
use crate::dataset::Dataset;
use crate::image::RgbaImage;
use crate::training::{CancelToken, Embedder, EmbeddingCache, Entry, Job};
use crate::web::codec::{self, ImageFormat};
use crate::web::error::EngineError;

/// JPEG quality of captured frames.
const QUALITY: f64 = 0.92;
/// Frames decoded at once while re-embedding: bounds the pixels in memory.
const CHUNK: usize = 32;

/// One sample's image file.
#[derive(Debug, Clone)]
pub struct ImageFile {
    file: Blob,
}

impl ImageFile {
    /// An image file as it is (checked when it is decoded).
    pub fn from_file(file: Blob) -> Self {
        Self { file }
    }

    /// An image file from its bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EngineError> {
        Ok(Self {
            file: codec::file(bytes)?,
        })
    }

    /// `image` as a JPEG frame.
    pub async fn encode(image: &RgbaImage) -> Result<Self, EngineError> {
        Ok(Self {
            file: codec::encode(image, ImageFormat::Jpeg(QUALITY)).await?,
        })
    }

    /// The image file itself.
    pub fn file(&self) -> &Blob {
        &self.file
    }

    /// The pixels, scaled like any image source; `name` names the frame in errors.
    pub async fn decode(&self, name: &str) -> Result<RgbaImage, EngineError> {
        codec::decode(&self.file, name).await
    }

    /// The file in `format`: the frame's own bytes when it already is one, else re-encoded.
    pub async fn file_as(&self, format: ImageFormat, name: &str) -> Result<Vec<u8>, EngineError> {
        if self.file.type_() == format.mime() {
            codec::bytes(&self.file).await
        } else {
            codec::bytes(&codec::encode(&self.decode(name).await?, format).await?).await
        }
    }
}

/// Embeds views of samples of `dataset` into `cache`: for each `(sample, first view)` of
/// `work`, views `first..=views` (view 0 is the frame itself; view `v` of sample `s` is drawn
/// from the random stream `(seed, s, v)`), decoding [`CHUNK`] frames at a time.
pub async fn embed_views(
    dataset: &Dataset<ImageFile>,
    embedder: &Embedder<'_>,
    (augment, seed): (&AugmentConfig, u64),
    work: &[(usize, usize)],
    views: usize,
    cache: &mut EmbeddingCache,
    cancel: &CancelToken,
) -> Result<(), EngineError> {
    for chunk in work.chunks(CHUNK) {
        let mut images = Vec::with_capacity(chunk.len());
        for &(index, _) in chunk {
            let sample = &dataset.samples[index];
            images.push(
                sample
                    .image
                    .decode(&format!("sample {}", sample.id))
                    .await?,
            );
        }
        let jobs: Vec<Job<'_>> = images
            .iter()
            .zip(chunk)
            .map(|(image, &(sample, from_view))| Job {
                image: image.view(),
                entry: Entry {
                    sample,
                    class: dataset.samples[sample].class,
                    view: 0,
                },
                from_view,
                views,
            })
            .collect();
        embedder
            .embed(&jobs, augment, seed, cache, cancel)
            .await
            .map_err(EngineError::from)?;
    }
    Ok(())
}

/// Embeds the frame of every sample of `dataset` into `cache`, in sample order (training
/// computes the augmented views when it needs them).
pub async fn embed_files(
    dataset: &Dataset<ImageFile>,
    embedder: &Embedder<'_>,
    cache: &mut EmbeddingCache,
    cancel: &CancelToken,
) -> Result<(), EngineError> {
    let work: Vec<(usize, usize)> = (0..dataset.samples.len()).map(|s| (s, 0)).collect();
    let no_views = AugmentConfig::default();
    embed_views(dataset, embedder, (&no_views, 0), &work, 0, cache, cancel).await
}
