/**
 * Photo previews made in Workers so a 12 MP decode never stalls webhook requests on the main
 * thread. Jobs queue FIFO; each worker runs one job at a time; workers start when jobs wait
 * for one. A small original is its own preview and never reaches a worker, and when no
 * preview can be made a small enough original stands in (see `self_preview.ts`).
 *
 * @module
 */

import { type Logger, silentLogger } from "../../log.ts";
import { type ImageInfo, inspectImage, ownPreview, previewFallback } from "./self_preview.ts";
import type { PreviewJob, PreviewReply } from "./_protocol.ts";
import type { ImageMime } from "./sniff.ts";

/** Options of {@link PreviewMaker}. */
export interface PreviewOptions {
  /** Longest side of the preview in pixels; smaller images are not enlarged. Default 384. */
  maxSide?: number;
  /** JPEG quality 1..100. Default 80 (about 10–20 KB at 384 px). */
  quality?: number;
  /** Per job, from the moment a worker takes it (queue time excluded). Default 10 000. */
  timeoutMs?: number;
  /** Inputs larger than this are refused before any work. Default 32 MiB. */
  maxInputBytes?: number;
  /**
   * Inputs whose header declares more pixels are refused (decompression bombs). Measured
   * here: an 8000×6000 (48 MP) JPEG took 2 s and grew the worker by about 600 MB; lower this
   * on small machines. Default 50 000 000.
   */
  maxPixels?: number;
  /**
   * Most workers running at once; each starts only when a job waits for one. Default: one
   * per CPU core beyond the first (the main thread serves HTTP), at least 1, at most 4.
   */
  workers?: number;
  /** Jobs waiting beyond this are refused with `busy`. Default 32. */
  maxQueue?: number;
  /**
   * An idle worker is terminated after this many ms. WebAssembly memory never shrinks, so
   * after one large photo a worker keeps its peak heap until it is replaced. 0 keeps workers
   * forever. Default 60 000.
   */
  idleMs?: number;
  /**
   * A worker that just decoded more pixels than this is replaced at once instead of waiting
   * for `idleMs`: measured here, an 8000×6000 JPEG left the process 600 MB bigger until the
   * worker went. Restarting costs about 40 ms. Default 16 000 000.
   */
  recycleAbovePixels?: number;
  /** Where worker failures and recycles are logged. Default: silent. */
  logger?: Logger;
}

/** Per-call overrides of {@link PreviewMaker.make}. */
export interface MakeOptions {
  /** Budget of this call in ms; overrides {@link PreviewOptions.timeoutMs}. */
  timeoutMs?: number;
}

/** A preview part to upload next to the original file. */
export interface UploadPreview {
  /** The encoded image. */
  bytes: Uint8Array;
  /** Its media type, e.g. `image/jpeg`. */
  mimeType: string;
  /** File name of the `preview` part. */
  name: string;
}

/** A JPEG preview made by {@link PreviewMaker}. */
export interface Preview extends UploadPreview {
  /** Previews are always JPEG. */
  mimeType: "image/jpeg";
  /** The part's file name. */
  name: "preview.jpg";
  /** Displayed size, after EXIF orientation. */
  width: number;
  /** Displayed height, after EXIF orientation. */
  height: number;
}

/** Why no preview was made; stable codes for logs and metrics. */
export type PreviewFailure =
  | "closed"
  | "empty"
  | "input_too_large"
  | "not_an_image"
  | "unknown_dimensions"
  | "too_many_pixels"
  | "busy"
  | "timeout"
  | "decode_failed"
  | "worker_crashed";

/** Outcome of {@link PreviewMaker.make}. `detail` is a human sentence for logs. */
export type PreviewResult =
  | { ok: true; preview: Preview }
  | { ok: false; reason: PreviewFailure; detail?: string };

const DEFAULTS = {
  maxSide: 384,
  quality: 80,
  timeoutMs: 10_000,
  maxInputBytes: 32 * 1024 * 1024,
  maxPixels: 50_000_000,
  workers: Math.max(1, Math.min(4, (navigator.hardwareConcurrency ?? 2) - 1)),
  maxQueue: 32,
  idleMs: 60_000,
  recycleAbovePixels: 16_000_000,
};

// Expected outcomes for non-photos; the rest point at a problem an operator may care about.
const QUIET: ReadonlySet<PreviewFailure> = new Set(["closed", "empty", "not_an_image"]);

interface Job {
  id: number;
  bytes: Uint8Array;
  mime: ImageMime;
  pixels: number;
  timeoutMs: number;
  queuedAt: number;
  fields: Record<string, unknown>;
  resolve: (result: PreviewResult) => void;
}

interface Slot {
  index: number;
  worker: Worker | null;
  job: Job | null;
  timer: ReturnType<typeof setTimeout> | undefined;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Makes JPEG previews in lazily started Workers.
 *
 * @example
 * ```ts
 * async function photoPart(bytes: Uint8Array): Promise<void> {
 *   const previews = new PreviewMaker({});
 *   const preview = await previews.previewFor(bytes); // UploadPreview, or null → document
 *   console.log(preview?.bytes.length);
 *   await previews.close();
 * }
 * ```
 */
export class PreviewMaker {
  readonly #maxSide: number;
  readonly #quality: number;
  readonly #timeoutMs: number;
  readonly #maxInputBytes: number;
  readonly #maxPixels: number;
  readonly #maxQueue: number;
  readonly #idleMs: number;
  readonly #recycleAbovePixels: number;
  readonly #log: Logger;
  readonly #slots: Slot[];
  readonly #queue: Job[] = [];
  #nextId = 1;
  #closed = false;

  /** Starts nothing: the first worker is created by the first job. */
  constructor(options: PreviewOptions = {}) {
    const int = (v: number | undefined, d: number, min: number) =>
      Math.max(min, Math.floor(v ?? d));
    this.#maxSide = int(options.maxSide, DEFAULTS.maxSide, 1);
    this.#quality = Math.min(100, int(options.quality, DEFAULTS.quality, 1));
    this.#timeoutMs = int(options.timeoutMs, DEFAULTS.timeoutMs, 1);
    this.#maxInputBytes = int(options.maxInputBytes, DEFAULTS.maxInputBytes, 1);
    this.#maxPixels = int(options.maxPixels, DEFAULTS.maxPixels, 1);
    this.#maxQueue = int(options.maxQueue, DEFAULTS.maxQueue, 0);
    this.#idleMs = int(options.idleMs, DEFAULTS.idleMs, 0);
    this.#recycleAbovePixels = int(options.recycleAbovePixels, DEFAULTS.recycleAbovePixels, 1);
    this.#log = (options.logger ?? silentLogger).child({ component: "preview" });
    const workers = int(options.workers, DEFAULTS.workers, 1);
    this.#slots = Array.from({ length: workers }, (_, index) => ({
      index,
      worker: null,
      job: null,
      timer: undefined,
      idleTimer: undefined,
    }));
  }

  /**
   * Makes a JPEG preview of `bytes`. Never throws. `bytes` stays intact (the worker gets a
   * copy), so the caller can upload it as the file part. `mimeType` is the declared type, used
   * for logs only: magic bytes decide.
   */
  make(bytes: Uint8Array, mimeType?: string, options: MakeOptions = {}): Promise<PreviewResult> {
    return this.#make(bytes, mimeType, options, null);
  }

  #make(
    bytes: Uint8Array,
    mimeType: string | undefined,
    options: MakeOptions,
    known: ImageInfo | null,
  ): Promise<PreviewResult> {
    const fields: Record<string, unknown> = { size: bytes.length, declared: mimeType };
    const refuse = (reason: PreviewFailure, detail: string) =>
      Promise.resolve(this.#fail(fields, reason, detail));
    if (this.#closed) return refuse("closed", "the preview maker is shut down");
    if (bytes.length === 0) return refuse("empty", "the file is empty");
    if (bytes.length > this.#maxInputBytes) {
      return refuse("input_too_large", `larger than ${this.#maxInputBytes} bytes`);
    }
    const { mime, size } = known ?? inspectImage(bytes);
    if (mime === null) return refuse("not_an_image", "not JPEG/PNG/GIF/WebP/BMP/TIFF");
    fields.mime = mime;
    if (size === null) return refuse("unknown_dimensions", `no readable ${mime} header`);
    fields.width = size.width;
    fields.height = size.height;
    if (size.width * size.height > this.#maxPixels) {
      return refuse("too_many_pixels", `${size.width}x${size.height} exceeds ${this.#maxPixels}`);
    }
    if (this.#queue.length >= this.#maxQueue && this.#slots.every((s) => s.job !== null)) {
      return refuse("busy", `${this.#queue.length} previews already waiting`);
    }
    return new Promise((resolve) => {
      this.#queue.push({
        id: this.#nextId++,
        // A copy, because the worker takes ownership of (and detaches) what it is sent.
        bytes: bytes.slice(),
        mime,
        pixels: size.width * size.height,
        timeoutMs: Math.max(1, Math.floor(options.timeoutMs ?? this.#timeoutMs)),
        queuedAt: performance.now(),
        fields,
        resolve,
      });
      this.#pump();
    });
  }

  /**
   * The preview part to upload, or `null` to send the file as a document: the original itself
   * when it is thumbnail-sized ({@link ownPreview}), else {@link make}, else
   * {@link previewFallback}. Logs which way it went and why.
   */
  async previewFor(bytes: Uint8Array, mimeType?: ImageMime): Promise<UploadPreview | null> {
    const info = inspectImage(bytes, mimeType);
    const own = this.#closed ? null : ownPreview(bytes, info);
    if (own) {
      this.#log.debug("preview: small original is its own preview", {
        size: bytes.length,
        mime: info.mime,
        width: info.size?.width,
        height: info.size?.height,
      });
      return own;
    }
    const result = await this.#make(bytes, mimeType, {}, info);
    if (result.ok) return result.preview;
    const fallback = previewFallback(bytes, { maxPixels: this.#maxPixels });
    const level = QUIET.has(result.reason) ? "debug" : "info";
    this.#log[level](
      fallback ? "preview: original used as its own preview" : "preview: sending as document",
      { reason: result.reason, detail: result.detail, size: bytes.length, declared: mimeType },
    );
    return fallback;
  }

  /** Terminates the workers; queued and running jobs resolve `{ ok: false, reason: "closed" }`. */
  close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) {
      job.resolve(this.#fail(job.fields, "closed", "shut down while queued"));
    }
    for (const slot of this.#slots) {
      const job = slot.job;
      this.#retire(slot);
      clearTimeout(slot.idleTimer);
      slot.idleTimer = undefined;
      if (job) job.resolve(this.#fail(job.fields, "closed", "shut down while running"));
    }
    return Promise.resolve();
  }

  #fail(fields: Record<string, unknown>, reason: PreviewFailure, detail: string): PreviewResult {
    const level = QUIET.has(reason) ? "debug" : "warn";
    this.#log[level]("preview failed", { ...fields, reason, detail });
    return { ok: false, reason, detail };
  }

  #pump(): void {
    for (const slot of this.#slots) {
      if (this.#queue.length === 0) return;
      if (slot.job !== null) continue;
      this.#dispatch(slot, this.#queue.shift()!);
    }
  }

  #dispatch(slot: Slot, job: Job): void {
    clearTimeout(slot.idleTimer);
    slot.idleTimer = undefined;
    const worker = slot.worker ?? this.#spawn(slot);
    slot.job = job;
    slot.timer = setTimeout(() => this.#onTimeout(slot, job), job.timeoutMs);
    const message: PreviewJob = {
      id: job.id,
      bytes: job.bytes.buffer as ArrayBuffer,
      mime: job.mime,
      maxSide: this.#maxSide,
      quality: this.#quality,
    };
    worker.postMessage(message, [message.bytes]);
  }

  #spawn(slot: Slot): Worker {
    const worker = new Worker(workerUrl(), { type: "module" });
    worker.onmessage = (event: MessageEvent<PreviewReply>) => this.#onReply(slot, worker, event);
    worker.onerror = (event: ErrorEvent) => {
      // Without preventDefault an uncaught worker error is re-thrown in the main thread.
      event.preventDefault();
      this.#onCrash(slot, worker, event.message);
    };
    worker.onmessageerror = () => this.#onCrash(slot, worker, "unreadable message from worker");
    slot.worker = worker;
    this.#log.debug("preview worker started", { worker: slot.index });
    return worker;
  }

  #onReply(slot: Slot, worker: Worker, event: MessageEvent<PreviewReply>): void {
    const reply = event.data;
    const job = slot.job;
    // A reply from a replaced worker, or for a job that already timed out, is stale.
    if (slot.worker !== worker || job === null || reply.id !== job.id) return;
    this.#release(slot);
    // WebAssembly memory only grows: after a huge decode, give the heap back now.
    if (job.pixels > this.#recycleAbovePixels) this.#retire(slot);
    const fields = { ...job.fields, ms: Math.round(performance.now() - job.queuedAt) };
    if (reply.ok) {
      this.#log.debug("preview made", {
        ...fields,
        out: reply.bytes.length,
        previewWidth: reply.width,
        previewHeight: reply.height,
        workMs: Math.round(reply.ms),
      });
      job.resolve({
        ok: true,
        preview: {
          bytes: reply.bytes,
          mimeType: "image/jpeg",
          name: "preview.jpg",
          width: reply.width,
          height: reply.height,
        },
      });
    } else {
      if (reply.fatal) this.#retire(slot);
      job.resolve(this.#fail(fields, "decode_failed", reply.error));
    }
    this.#next(slot);
  }

  #onTimeout(slot: Slot, job: Job): void {
    if (slot.job !== job) return;
    // The worker is stuck in synchronous wasm: the only way to stop it is to kill it.
    this.#retire(slot);
    job.resolve(this.#fail(job.fields, "timeout", `no preview after ${job.timeoutMs} ms`));
    this.#next(slot);
  }

  #onCrash(slot: Slot, worker: Worker, message: string): void {
    if (slot.worker !== worker) return;
    const job = slot.job;
    this.#retire(slot);
    if (job) job.resolve(this.#fail(job.fields, "worker_crashed", message));
    this.#next(slot);
  }

  /** Frees the slot for the next job, keeping its worker. */
  #release(slot: Slot): void {
    clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.job = null;
  }

  /** Frees the slot and terminates its worker; the next job starts a fresh one. */
  #retire(slot: Slot): void {
    this.#release(slot);
    if (slot.worker === null) return;
    slot.worker.terminate();
    slot.worker = null;
    this.#log.debug("preview worker stopped", { worker: slot.index });
  }

  #next(slot: Slot): void {
    this.#pump();
    if (slot.job !== null || slot.worker === null || this.#idleMs === 0 || this.#closed) return;
    slot.idleTimer = setTimeout(() => {
      slot.idleTimer = undefined;
      if (slot.job === null) this.#retire(slot);
    }, this.#idleMs);
  }
}

/**
 * Where the worker's module is. From the source (tests, the compiled binary) it is the file
 * beside this one: this exact form lets `deno compile --include src/delivery/preview/_worker.ts`
 * embed it. In the start task's bundle (src/start.ts) this module is in a chunk at the bundle's
 * root and the worker is the bundle's second entry, which keeps its path under src/.
 */
function workerUrl(): URL {
  return import.meta.url.endsWith(".ts")
    ? new URL("./_worker.ts", import.meta.url)
    : new URL("./delivery/preview/_worker.js", import.meta.url);
}
