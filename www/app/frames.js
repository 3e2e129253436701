// Frames: what the camera, an uploaded file or a stored sample looks like to the model. Every
// sample is the centred square of its source at SIZE pixels (what the backbone sees), kept as
// a JPEG so hundreds of samples fit in browser storage.

/** Side of a stored sample, in pixels. */
export const SIZE = 320;

const canvas = new OffscreenCanvas(SIZE, SIZE);
const context = canvas.getContext("2d", { willReadFrequently: true });

/** The centred square of `source` (video, image, bitmap or canvas of `width` × `height`). */
export function squareOf(source, width, height) {
  const side = Math.min(width, height);
  context.drawImage(source, (width - side) / 2, (height - side) / 2, side, side, 0, 0, SIZE, SIZE);
  return context.getImageData(0, 0, SIZE, SIZE);
}

/** A JPEG of an `ImageData`. */
export async function jpegOf(image) {
  const out = new OffscreenCanvas(image.width, image.height);
  out.getContext("2d").putImageData(image, 0, 0);
  return out.convertToBlob({ type: "image/jpeg", quality: 0.9 });
}

/** Largest image file accepted, in bytes. */
const MAX_BYTES = 50e6;

/** Largest image decoded, in pixels: 50 megapixels (a 48 MP phone photo fits), about 200 MB
 * while the browser decodes it. Larger images are refused before any pixel is decoded. */
const MAX_PIXELS = 50e6;

/** Decodes an image file or blob into the centred square at SIZE pixels, or throws a message
 * naming `name`. The size is read from the file's header first; the browser then decodes
 * straight to the SIZE × SIZE square (crop and resize in `createImageBitmap`, after EXIF
 * orientation), so no full-size copy of the pixels ever reaches JavaScript. */
export async function decode(blob, name = "the image") {
  if (blob.size > MAX_BYTES) throw new Error(`${name} is larger than ${MAX_BYTES / 1e6} MB`);
  const { width, height } = await measure(blob, name);
  if (width * height > MAX_PIXELS) {
    throw new Error(`${name} is ${width} × ${height} pixels (${Math.round((width * height) / 1e6)} megapixels); ` +
      `images up to ${MAX_PIXELS / 1e6} megapixels are accepted: scale it down and add it again`);
  }
  const side = Math.min(width, height);
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, Math.floor((width - side) / 2), Math.floor((height - side) / 2), side, side,
      { resizeWidth: SIZE, resizeHeight: SIZE, resizeQuality: "high" });
  } catch {
    throw new Error(`${name} cannot be decoded (a damaged, incomplete or unsupported image)`);
  }
  try {
    return squareOf(bitmap, SIZE, SIZE);
  } finally {
    bitmap.close();
  }
}

/** Width and height of an image file as shown (EXIF orientation applied), read from its header:
 * an `<img>` fires `load` once it knows its size, before decoding any pixel. */
function measure(blob, name) {
  const url = URL.createObjectURL(blob);
  const image = new Image();
  return new Promise((resolve, reject) => {
    image.onload = () => (image.naturalWidth && image.naturalHeight
      ? resolve({ width: image.naturalWidth, height: image.naturalHeight })
      : reject(new Error(`${name} has no size in pixels`)));
    image.onerror = () => reject(new Error(`${name} is not an image this browser can decode`));
    image.src = url;
  }).finally(() => URL.revokeObjectURL(url));
}
