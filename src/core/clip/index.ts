/**
 * CLIP in the PSCL core: checkpoint loading, the tokenizer, ONNX graphs built from the weights
 * (text encoder; image encoder with ClearCLIP and the other last-block variants), ONNX Runtime
 * sessions. No vscode import: the backend process and the CLI use it alike.
 *
 *   const model = await ClipModel.load(dir, { provider: 'auto', cacheDir, threads, log });
 *   model.provider                  // { requested, provider: 'cpu' | 'cuda', reason? }
 *   model.config / patchSize / imageSize / embedDim / logitScale / hash
 *   await model.embedTexts(texts, { batchSize?, signal?, onProgress? })
 *       -> { data: Float32Array, rows, dim }         L2-normalised rows, one per text
 *   await model.denseFeatures(images, { variant?, slidingWindow?, batchSize?, signal?, onProgress? })
 *       images: { data: Float32Array [3,H,W] normalised, height, width }[] (H, W multiples of the patch)
 *       -> { data: Float32Array [h,w,D], height: h, width: w, dim: D }[]  L2-normalised per patch
 *   await model.encodeImages(images, { dense?, global?, variant?, batchSize?, signal? })
 *       -> { dense?: DenseMap[], global?: Embeddings }  one trunk pass; global = CLIP's image embedding
 *   await model.imageEmbeddings(images)  -> Embeddings [images, D]  (the class token path)
 *   await model.dispose()
 *
 *   await loadImagePixels(file, { mode: 'crop', size } | { mode: 'resize', width, height }
 *                                | { mode: 'fit', size, multipleOf })   -> PixelImage
 *   makeTinyClip(dir, options)       a deterministic random CLIP folder (tests, demo, benchmarks)
 *
 * Variants: see graph/variants.ts and docs/clearclip.md. Cancelling (AbortSignal) rejects with
 * an error named 'AbortError' (CancelledError); bad folders reject with errors naming the file
 * and tensor.
 */
export { ClipModel, CancelledError, type ClipModelOptions, type DenseMap, type DenseOptions, type EncodeImagesOptions, type Embeddings, type ImageEncodings, type RunControl } from './model';
export { ClipCheckpoint, CheckpointError, expectedTensors } from './checkpoint';
export { type ClipConfig, ClipConfigError } from './config';
export { ClipTokenizer, TokenizerError, type TokenBatch } from './tokenizer';
export { DEFAULT_VARIANT, NAMED_VARIANTS, VARIANT_NAMES, parseVariant, variantKey, type LastBlockVariant, type AttentionKind, type VariantName } from './graph/variants';
export { decodeImage, ImageFile, loadImagePixels, pixelsOf, normalizeHwc, CLIP_MEAN, CLIP_STD, ImageError, type DecodedImage, type PixelImage, type ResizeMode } from './preprocess';
export { OrtRuntime, RuntimeError, PROVIDER_CHOICES, type ProviderChoice, type ProviderReport } from './runtime';
export { defaultCacheDir } from './graphcache';
export { makeTinyClip, sharedMergesFile, TINY_DEFAULTS, type TinyClipOptions } from './tiny';
export { SafetensorsFile, SafetensorsError, encodeSafetensors } from './safetensors';
