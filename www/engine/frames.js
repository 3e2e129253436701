// Frames: what the camera, an uploaded file or a stored sample looks like to the model, the one
// capture policy of the page and both widgets. Every sample is the centred square of its source
// at SIZE pixels (what the backbone sees), kept as a JPEG so hundreds of samples fit in browser
// storage. Frames reach the engine as ImageData, ImageBitmap or Blob, never as DOM elements.

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

/** JPEG quality of a kept sample. */
const QUALITY = 0.9;

/** A JPEG of an `ImageData`. */
export async function jpegOf(image) {
  const out = new OffscreenCanvas(image.width, image.height);
  out.getContext("2d").putImageData(image, 0, 0);
  return out.convertToBlob({ type: "image/jpeg", quality: QUALITY });
}

/** The centred square of what `element` (a `<video>`, `<img>` or `<canvas>`) shows now. */
export function square(element) {
  const [width, height] = sizeOf(element);
  return squareOf(element, width, height);
}

/** A sample of what `element` shows now: its centred square as a JPEG. */
export const capture = (element) => jpegOf(square(element));

/** Width and height of a DOM image source, as drawn. */
function sizeOf(element) {
  if (element instanceof HTMLVideoElement) return [element.videoWidth, element.videoHeight];
  if (element instanceof HTMLImageElement) return [element.naturalWidth, element.naturalHeight];
  return [element.width, element.height];
}

/** `source` as the engine takes it: a DOM element becomes an ImageBitmap of what it shows;
 * anything else goes as it is. `transfer` lists what may move to the engine instead of being
 * copied (bitmaps made here, unless `keep`). */
export async function transferable(source, keep = false) {
  // An OffscreenCanvas cannot be copied to a worker: a bitmap of it can.
  if (globalThis.OffscreenCanvas && source instanceof OffscreenCanvas) {
    const bitmap = await createImageBitmap(source);
    return { value: bitmap, transfer: keep ? [] : [bitmap] };
  }
  const element = globalThis.HTMLElement && source instanceof HTMLElement;
  if (!element) return { value: source, transfer: [] };
  const [width, height] = sizeOf(source);
  if (!width || !height) {
    throw new Error("the image source has no pixels yet (an image still loading, or a video without a frame)");
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(source);
  } catch (error) {
    throw new Error(`cannot read the image source (a cross-origin image without CORS?): ${error.message}`);
  }
  return { value: bitmap, transfer: keep ? [] : [bitmap] };
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
