// The training cache's public surface (docs/cache-format.md): import from here ('src/core/cache').
export { buildCache, buildCacheShard, parseShard, shardImages, defaultSettings, maskFileName, maskSettingsOf, DEFAULT_MASK_SIZE, type BuildCacheOptions, type CacheBuildResult, type CacheProgress, type CacheShard, type ShardBuildResult } from './build';
export { verifyCache, type VerifyReport } from './verify';
export { clipEncoders, type CacheEncoders, type EncoderModel } from './encoders';
export { cacheHashes, type CacheHashes, type MaskBuildSettings } from './hashes';
export { readManifest, CacheError, MANIFEST_FILE, PROTOTYPES_FILE, MASKS_DIR, type CacheManifest, type ManifestEmbeddings, type ManifestImage } from './manifest';
export { defaultCacheDir } from './location';
export { formatCacheProgress } from './progress';
export { CacheBuildLock, CacheLockedError, readCacheLock, describeHolder, BUILD_LOCK_FILE, type CacheLockRecord, type CacheLockState } from './lock';
export { readImageEmbeddings, EMBEDDINGS_TENSOR, type ImageEmbeddings } from './embeddings';
