// curation/*: the Dataset view's heavy work in the backend: findings over a project's images
// (src/core/curation, what `pscl curate` prints) and thumbnails cached on disk.
import { RequestType } from 'vscode-jsonrpc';
import type { Finding } from '../curation/findings';
import type { ErrorData } from './errors';

export interface CurationFindingsParams {
  projectFile: string;
  /** The project's text when an editor holds unsaved changes. */
  text?: string;
  /** A training cache (image embeddings, class prototypes); default: the project's newest. */
  cacheDir?: string;
  runDir?: string;
  jobId?: string;
}

export interface CurationFindingsResult {
  findings: Finding[];
  images: number;
  excluded: number;
  notes: string[];
}

export interface ThumbnailsParams {
  /** Absolute image files. */
  files: string[];
  /** Folder the thumbnails are kept in (the extension's global storage). */
  dir: string;
  /** Long side in pixels. */
  size: number;
}

/** Per file, the thumbnail's absolute path, or null when the image cannot be read. */
export interface ThumbnailsResult {
  thumbnails: (string | null)[];
}

export interface CurationMapParams {
  projectFile: string;
  cacheDir?: string;
  jobId?: string;
}

/** 2-D coordinates of the images the cache has embeddings for; a message when it has none. */
export interface CurationMapResult {
  paths: string[];
  /** x, y interleaved, in `paths` order. */
  xy: number[];
  message?: string;
}

export const CurationRequests = {
  map: new RequestType<CurationMapParams, CurationMapResult, ErrorData>('curation/map'),
  findings: new RequestType<CurationFindingsParams, CurationFindingsResult, ErrorData>('curation/findings'),
  thumbnails: new RequestType<ThumbnailsParams, ThumbnailsResult, ErrorData>('curation/thumbnails'),
};
