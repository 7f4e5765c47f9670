/**
 * Messages between {@link PreviewMaker} and its Worker. Buffers are transferred, not copied,
 * in both directions.
 *
 * @module
 */

import type { ImageMime } from "./sniff.ts";

/** Main thread → worker: make one preview. */
export interface PreviewJob {
  id: number;
  /** The image file; owned by the worker after transfer. */
  bytes: ArrayBuffer;
  /** Its type, sniffed once on the main thread. */
  mime: ImageMime;
  maxSide: number;
  quality: number;
}

/** Worker → main thread: the outcome of one job. */
export type PreviewReply =
  | { id: number; ok: true; bytes: Uint8Array; width: number; height: number; ms: number }
  | {
    id: number;
    ok: false;
    error: string;
    /** The WebAssembly instance trapped; its heap may hold leaked buffers, so replace it. */
    fatal: boolean;
  };
