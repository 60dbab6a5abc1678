// Messages between the extension host and the evaluation report webview. The host sends the
// parsed report, the taxonomy of its classes (from the project or eval.json) and webview URIs of
// the gallery images; the page rolls the matrix up and sorts the table itself.
import type { ClassTaxonomy } from './confusion';
import type { EvalReport } from './evalReport';

export interface EvalImageUris {
  /** asWebviewUri of the image. */
  image?: string;
  /** asWebviewUri of the part label map (masks/<key>.png), when the cache has it. */
  mask?: string;
  /** Part names for the mask values 1..N (the image's coarse category). */
  parts?: string[];
}

export type EvalToWebview =
  | { type: 'report'; run: { name: string; dir: string }; report: EvalReport; taxonomy: ClassTaxonomy; images: Record<string, EvalImageUris> }
  | { type: 'error'; message: string };

export type EvalFromWebview =
  | { type: 'ready' }
  /** Open the image (by its key in report.wrong) in an editor. */
  | { type: 'openImage'; key: string };

export interface EvalReportState {
  runDir?: string;
  level?: string;
  sort?: { key: string; descending: boolean };
  normalize?: boolean;
  showMasks?: boolean;
}
