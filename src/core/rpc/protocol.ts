// The PSCL backend protocol: JSON-RPC 2.0 over the backend's stdin/stdout, shared by the backend
// (src/backend) and its clients (the extension host, the CLI, tests). docs/backend.md explains
// each method; a change here that breaks old clients bumps PROTOCOL_VERSION.
import { NotificationType, RequestType } from 'vscode-jsonrpc';
import type { ErrorData } from './errors';

export const PROTOCOL_VERSION = 1;

/** Params of a method that takes none. */
export type NoParams = Record<string, never> | null | undefined;

/**
 * Params of long requests. A client that wants progress picks a `jobId` unique on its
 * connection; the backend then sends `progress` notifications carrying it.
 */
export interface ProgressScoped {
  jobId?: string;
}

// ---- notifications -------------------------------------------------------------------------

export interface ProgressParams {
  /** The request's `jobId`, or the id `jobs/start` returned. */
  jobId: string;
  done: number;
  /** null while the amount of work is unknown. */
  total: number | null;
  /** What `done` and `total` count. */
  unit?: 'bytes' | 'items' | 'steps';
  /** Units per second over the last few seconds, when meaningful. */
  rate?: number;
  /** One line for a status bar: "model.safetensors: 120.3 of 598.6 MB, 25.1 MB/s". */
  message?: string;
}

export interface JobFinishedParams {
  job: JobInfo;
  /** The job's result when it succeeded. */
  result?: unknown;
}

export const Notifications = {
  progress: new NotificationType<ProgressParams>('progress'),
  jobFinished: new NotificationType<JobFinishedParams>('jobs/finished'),
};

// ---- backend -------------------------------------------------------------------------------

export interface OnnxRuntimeInfo {
  /** Whether `onnxruntime-node` could be loaded in the backend. */
  available: boolean;
  version?: string;
  /**
   * Execution providers the runtime reports. `bundled: false` (CUDA on linux-x64) means the
   * provider's libraries are installed separately and may be missing: sessions then fall back to CPU.
   */
  executionProviders: Array<{ name: string; bundled: boolean }>;
  /** Why it could not be loaded. */
  error?: string;
}

export interface BackendInfo {
  protocolVersion: number;
  /** The extension's package version the backend was built from. */
  version: string;
  pid: number;
  node: string;
  platform: string;
  arch: string;
  onnxruntime: OnnxRuntimeInfo;
  /** Whether this backend build can answer clip/* requests. */
  clipEngine: boolean;
  methods: string[];
  jobKinds: string[];
}

// ---- models --------------------------------------------------------------------------------

export interface ModelResolveParams extends ProgressScoped {
  /** A Hub repo id ("openai/clip-vit-base-patch16") or a local folder. */
  model: string;
  /** Hub revision (branch, tag or commit); default "main". */
  revision?: string;
  /** Where downloads are cached; default ~/.cache/pscl-studio/models. */
  cacheDir?: string;
  /** Hub base URL; default PSCL_HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** Use the cache only; never touch the network. */
  offline?: boolean;
}

export interface ModelResolveResult {
  /** The local folder holding config.json, model.safetensors, tokenizer.json, tokenizer_config.json. */
  dir: string;
  source: 'local' | 'cache' | 'download';
  repo?: string;
  revision?: string;
  /** Bytes fetched by this call (0 for local folders and cache hits). */
  bytesDownloaded: number;
}

// ---- jobs ----------------------------------------------------------------------------------

export type JobState = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface JobInfo {
  jobId: string;
  kind: string;
  state: JobState;
  done: number;
  total: number | null;
  message?: string;
  /** Milliseconds since the epoch. */
  startedAt: number;
  finishedAt?: number;
  error?: { message: string; code: number } & ErrorData;
}

export interface JobsStartParams {
  /** One of BackendInfo.jobKinds, e.g. "model/resolve". */
  kind: string;
  /** The kind's params (for "model/resolve": ModelResolveParams without jobId). */
  params?: unknown;
}

export interface JobsStartResult {
  job: JobInfo;
}

export interface JobsCancelParams {
  jobId: string;
}

export interface JobsCancelResult {
  /** false when the job was unknown or had already finished. */
  cancelled: boolean;
  job?: JobInfo;
}

export interface JobsListResult {
  /** Running jobs and the most recently finished ones, oldest first. */
  jobs: JobInfo[];
}

// ---- CLIP ----------------------------------------------------------------------------------

/**
 * A float32 tensor on the wire: the row-major little-endian bytes, base64-encoded. Base64
 * costs a third more than raw bytes but keeps the protocol plain JSON; a 28x28x512 feature map
 * is 2.1 MB of text, decoded in about a millisecond (src/core/rpc/tensor.ts).
 */
export interface EncodedTensor {
  dtype: 'float32';
  shape: number[];
  data: string;
}

export type ExecutionDevice = 'auto' | 'cpu' | 'cuda';
export const EXECUTION_DEVICES: readonly ExecutionDevice[] = ['auto', 'cpu', 'cuda'];

export interface TextEmbeddingsParams extends ProgressScoped {
  /** A local model folder, or a repo id already in the cache (clip/* never downloads). */
  model: string;
  cacheDir?: string;
  /** Prompts as given: no templates are applied here. */
  texts: string[];
  /** L2-normalise each row (default true). */
  normalize?: boolean;
  device?: ExecutionDevice;
}

export interface TextEmbeddingsResult {
  /** [texts.length, D] */
  embeddings: EncodedTensor;
  /** The execution provider that ran it, e.g. "cpu". */
  device: string;
}

/** The switches of the last image block; a named variant fixes all three. */
export interface ClipBlockSwitches {
  residual: boolean;
  feedForward: boolean;
  attention: 'qk' | 'qq';
}

export interface DenseFeaturesParams extends ProgressScoped {
  model: string;
  cacheDir?: string;
  /** An image file, resized (aspect kept) so that its long side is `size`, rounded to the patch (default: the model's trained size). */
  image?: string;
  /** Already normalised pixels [3, H, W] (bypasses image preprocessing). Exactly one of image/pixels. */
  pixels?: EncodedTensor;
  size?: number;
  /** "vanilla" | "maskclip" | "sclip" | "clearclip", or "custom" with `switches`. */
  variant: string;
  switches?: ClipBlockSwitches;
  /** L2-normalise each patch feature (default true). */
  normalize?: boolean;
  device?: ExecutionDevice;
}

export interface DenseFeaturesResult {
  /** [H/p, W/p, D] */
  features: EncodedTensor;
  device: string;
}

// ---- requests ------------------------------------------------------------------------------

export const Requests = {
  info: new RequestType<NoParams, BackendInfo, ErrorData>('backend/info'),
  shutdown: new RequestType<NoParams, null, ErrorData>('backend/shutdown'),
  modelResolve: new RequestType<ModelResolveParams, ModelResolveResult, ErrorData>('model/resolve'),
  jobsStart: new RequestType<JobsStartParams, JobsStartResult, ErrorData>('jobs/start'),
  jobsCancel: new RequestType<JobsCancelParams, JobsCancelResult, ErrorData>('jobs/cancel'),
  jobsList: new RequestType<NoParams, JobsListResult, ErrorData>('jobs/list'),
  textEmbeddings: new RequestType<TextEmbeddingsParams, TextEmbeddingsResult, ErrorData>('clip/textEmbeddings'),
  denseFeatures: new RequestType<DenseFeaturesParams, DenseFeaturesResult, ErrorData>('clip/denseFeatures'),
};
