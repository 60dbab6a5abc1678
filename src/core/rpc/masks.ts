// masks/compute and masks/grid: what the mask-preview panel asks the backend for. Kept apart
// from protocol.ts so the preview's requests live with the preview's types.
import { RequestType } from 'vscode-jsonrpc';
import type { PreviewSettings } from '../masks/settings';
import type { GridItem, PreviewPart, WireLabelMap, WireProbabilities } from '../masks/wire';
import type { PartStats } from '../masks/stats';
import type { ErrorData } from './errors';
import type { ExecutionDevice } from './protocol';

/** The embedded demo model: `pscl.clip.model` set to this (or left empty). */
export const DEMO_MODEL_SPEC = 'demo';

interface MasksCommon {
  /** A local CLIP folder (already resolved with model/resolve) or 'demo'. */
  model: string;
  device?: ExecutionDevice;
  /** The project file; its text is read from disk unless `projectText` is given (unsaved edits). */
  projectFile: string;
  projectText?: string;
  /** Coarse category whose parts are used; default: the only one with parts. */
  coarse?: string;
  settings: PreviewSettings;
  backgroundPrompts?: string[];
  jobId?: string;
}

export interface MasksComputeParams extends MasksCommon {
  image: string;
  /** Long side of the JPEG sent with the result (default 768). */
  previewSize?: number;
}

export interface MasksComputeResult {
  coarse: string;
  /** Downscaled JPEG of the image as a data: URI (keeps the webview canvas readable). */
  image: { dataUri: string; width: number; height: number };
  labelMap: WireLabelMap;
  probabilities: WireProbabilities;
  parts: PreviewPart[];
  stats: PartStats[];
  timing: { ms: number; features: number; text: number; masks: number; featuresCached: boolean };
  modelId: string;
}

export interface MasksGridParams extends MasksCommon {
  /** At most this many classes of the category, one image each (default 8). */
  maxClasses?: number;
}

export interface MasksGridResult {
  coarse: string;
  /** `key` is the image's absolute path. */
  items: GridItem[];
  parts: PreviewPart[];
  timing: { ms: number };
  modelId: string;
}

export const MaskRequests = {
  compute: new RequestType<MasksComputeParams, MasksComputeResult, ErrorData>('masks/compute'),
  grid: new RequestType<MasksGridParams, MasksGridResult, ErrorData>('masks/grid'),
};
