/**
 * Photo previews: TrueConf shows an upload as an inline photo only when it carries a
 * `preview` part. {@link PreviewMaker} makes a small JPEG off the main thread; when it cannot,
 * {@link previewFallback} decides between "original as its own preview" and "document".
 *
 * @module
 */

export {
  FALLBACK_MAX_BYTES,
  type FallbackOptions,
  type MakeOptions,
  type Preview,
  type PreviewFailure,
  previewFallback,
  PreviewMaker,
  type PreviewOptions,
  type PreviewResult,
  type UploadPreview,
} from "./preview_pool.ts";
export { imageDimensions, type ImageMime, type ImageSize } from "./sniff.ts";
export { readExifOrientation } from "./exif_orientation.ts";
