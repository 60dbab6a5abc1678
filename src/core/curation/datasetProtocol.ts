// Messages between the extension host and the Dataset view (webview/dataset). The host sends the
// project's images in columns (48k images stay a few MB), the taxonomy, the findings by image
// index, and thumbnail URIs on request; the page filters, sorts, selects and draws, and asks the
// host to record decisions (each one WorkspaceEdit on the project file).
import type { FindingKind } from './findings';

export interface DatasetClass {
  id: string;
  name: string;
  /** Value at every level, coarse first, fine (the name) last. */
  values: string[];
}

export interface DatasetFinding {
  kind: FindingKind;
  /** Indices into the images columns. */
  images: number[];
  score: number;
  reason: string;
  match?: 'exact' | 'near';
  /** Mislabels: the suggested class (index into classes) and where the labels still agree. */
  suggested?: number;
  agreeAt?: string;
}

export interface DatasetImages {
  /** Relative to the dataset root. */
  path: string[];
  /** Index into classes (the project's class: relabels applied); -1 when not a project class. */
  cls: number[];
  split: string[];
  /** The exclusion reason, or null when the image counts. */
  excluded: (string | null)[];
  /** The dataset's own class (index) when the project relabelled the image, else -1. */
  relabeledFrom: number[];
}

export interface DatasetSnapshot {
  type: 'dataset';
  project: { name: string; file: string };
  levels: string[];
  classes: DatasetClass[];
  images: DatasetImages;
  /** Webview URI of the dataset root; an image is `${imageRoot}/${path}` (path segments URI-encoded). */
  imageRoot: string;
  /** Whether the host makes thumbnails (else the page shows the images themselves). */
  thumbnails: boolean;
  /** A filter to start with (opened from a taxonomy row). */
  focus?: { level: string; value: string };
}

export type DatasetToWebview =
  | DatasetSnapshot
  /** The project's decisions changed (an edit, an undo): the new columns. */
  | { type: 'decisions'; excluded: (string | null)[]; cls: number[]; relabeledFrom: number[] }
  | { type: 'findings'; findings: DatasetFinding[]; notes: string[]; running: boolean; message?: string }
  | { type: 'thumbs'; uris: Record<number, string> }
  /** 2-D map coordinates per image (x, y interleaved; NaN for images without an embedding). */
  | { type: 'map'; xy: number[]; message?: string }
  | { type: 'error'; message: string };

export type DatasetFromWebview =
  | { type: 'ready' }
  | { type: 'thumbs'; indices: number[] }
  | { type: 'exclude'; indices: number[]; reason?: string }
  | { type: 'include'; indices: number[] }
  | { type: 'relabel'; indices: number[] }
  | { type: 'clearRelabel'; indices: number[] }
  | { type: 'openMaskPreview'; index: number }
  | { type: 'openImage'; index: number }
  | { type: 'findings' }
  | { type: 'map' };

export interface DatasetViewState {
  projectFile?: string;
  level?: string;
  value?: string;
  split?: string;
  kind?: string;
  sort?: 'dataset' | 'score';
  tab?: 'grid' | 'map';
  colourLevel?: string;
}

/** A webview URI of a dataset image from the root URI and its relative path. */
export function imageUri(root: string, rel: string): string {
  return `${root}/${rel.split('/').map(encodeURIComponent).join('/')}`;
}
