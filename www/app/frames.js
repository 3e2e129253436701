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

/** Decodes an image file or blob into the centred square, or throws a clear error. */
export async function decode(blob, name = "the image") {
  if (blob.size > 50e6) throw new Error(`${name} is larger than 50 MB`);
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob);
  } catch {
    throw new Error(`${name} is not an image this browser can decode`);
  }
  try {
    if (bitmap.width * bitmap.height > 100e6) throw new Error(`${name} is larger than 100 megapixels`);
    return squareOf(bitmap, bitmap.width, bitmap.height);
  } finally {
    bitmap.close();
  }
}
