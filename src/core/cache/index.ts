// The training cache's public surface (docs/cache-format.md): import from here ('src/core/cache').
export { buildCache, defaultSettings, maskFileName, maskSettingsOf, DEFAULT_MASK_SIZE, type BuildCacheOptions, type CacheBuildResult, type CacheProgress } from './build';
export { verifyCache, type VerifyReport } from './verify';
export { clipEncoders, type CacheEncoders, type EncoderModel } from './encoders';
export { cacheHashes, type CacheHashes, type MaskBuildSettings } from './hashes';
export { readManifest, CacheError, MANIFEST_FILE, PROTOTYPES_FILE, MASKS_DIR, type CacheManifest, type ManifestImage } from './manifest';
export { defaultCacheDir } from './location';
export { formatCacheProgress } from './progress';
export { CacheBuildLock, CacheLockedError, readCacheLock, describeHolder, BUILD_LOCK_FILE, type CacheLockRecord, type CacheLockState } from './lock';
export { readImageEmbeddings, EMBEDDINGS_TENSOR, type ImageEmbeddings, type ManifestEmbeddings } from './embeddings';
