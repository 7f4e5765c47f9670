/**
 * Photo previews: TrueConf shows an upload as an inline photo only when it carries a
 * `preview` part. A thumbnail-sized original is its own preview ({@link ownPreview});
 * otherwise {@link PreviewMaker} makes a small JPEG off the main thread, and when it cannot,
 * {@link previewFallback} decides between "original as its own preview" and "document".
 *
 * @module
 */

export {
  type MakeOptions,
  type Preview,
  type PreviewFailure,
  PreviewMaker,
  type PreviewOptions,
  type PreviewResult,
  type UploadPreview,
} from "./preview_pool.ts";
export {
  FALLBACK_MAX_BYTES,
  type FallbackOptions,
  type ImageInfo,
  inspectImage,
  OWN_PREVIEW_MAX_BYTES,
  OWN_PREVIEW_MAX_SIDE,
  ownPreview,
  previewFallback,
} from "./self_preview.ts";
export { imageDimensions, type ImageMime, type ImageSize } from "./sniff.ts";
export { readExifOrientation } from "./exif_orientation.ts";
