/**
 * The benchmarks' photos (bench/run.ts, bench/ab.ts): photo-like JPEGs made with photon
 * (gradients, a disc, noise, so they compress like photos), the `images` scenario's ~100 KiB
 * 800×600 one, and the multipart body a sender posts it in.
 *
 * @module
 */
import { PhotonImage } from "@cf-wasm/photon";

/** A photo-like `width`×`height` picture (RGBA): gradients, a disc, noise. */
export function photoRgba(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  let seed = 42;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const noise = seed & 15;
      const i = (y * width + x) * 4;
      const disc = (x - width / 2) ** 2 + (y - height / 2) ** 2 < (height / 3) ** 2;
      data[i] = ((x * 255) / width + noise) & 0xff;
      data[i + 1] = disc ? 200 : ((y * 255) / height + noise) & 0xff;
      data[i + 2] = ((x ^ y) & 0x7f) + noise;
      data[i + 3] = 255;
    }
  }
  return data;
}

/** {@link photoRgba} encoded as JPEG at `quality`, or as PNG. */
export function encodePhoto(
  width: number,
  height: number,
  as: { jpeg: number } | "png",
): Uint8Array {
  const img = new PhotonImage(photoRgba(width, height), width, height);
  try {
    return as === "png" ? img.get_bytes() : img.get_bytes_jpeg(as.jpeg);
  } finally {
    img.free();
  }
}

/** A photo-like `width`×`height` JPEG at `quality`. */
export function makeJpeg(width: number, height: number, quality = 90): Uint8Array {
  return encodePhoto(width, height, { jpeg: quality });
}

/** The 800×600 bench photo at the JPEG quality (88–95) whose file is nearest to 100 KiB. */
export function hundredKibJpeg(): Uint8Array {
  let best: Uint8Array | null = null;
  for (let q = 88; q <= 95; q++) {
    const j = makeJpeg(800, 600, q);
    if (!best || Math.abs(j.length - 102_400) < Math.abs(best.length - 102_400)) best = j;
  }
  return best!;
}

/** `multipart/form-data` with a text field and one JPEG, as `curl -F text=… -F image=@…`. */
export function multipartBody(
  text: string,
  jpeg: Uint8Array,
): { bytes: Uint8Array; contentType: string } {
  const boundary = `----bench${crypto.randomUUID().replaceAll("-", "")}`;
  const enc = new TextEncoder();
  const head = enc.encode(
    `--${boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\n${text}\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="panel.jpg"\r\n` +
      `Content-Type: image/jpeg\r\n\r\n`,
  );
  const tail = enc.encode(`\r\n--${boundary}--\r\n`);
  const bytes = new Uint8Array(head.length + jpeg.length + tail.length);
  bytes.set(head);
  bytes.set(jpeg, head.length);
  bytes.set(tail, head.length + jpeg.length);
  return { bytes, contentType: `multipart/form-data; boundary=${boundary}` };
}
