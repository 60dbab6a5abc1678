// The mask preview on the wire: messages between the extension host's panel and its webview page
// (webview/maskPreview), and the label maps and probabilities the backend sends the host. Both
// sides import this file; it has no 'vscode' import. Label maps and probabilities travel as
// base64 of their typed arrays: the page draws them on a canvas itself (no composited PNGs, see
// STACK.md: compositing costs ~100 ms per image). The settings themselves live in settings.ts.
import type { LabelMap } from './labels';
import type { PartMaskResult } from './pipeline';
import { isPreviewSettings, type PreviewSettings } from './settings';
import type { PartStats } from './stats';

/** A label map on the wire: `data` is base64 of the row-major Uint8Array (0 = background). */
export interface WireLabelMap {
  width: number;
  height: number;
  numParts: number;
  data: string;
}

/** Patch probabilities [gridH, gridW, n] on the wire: `data` is base64 of a Float32Array. */
export interface WireProbabilities {
  gridH: number;
  gridW: number;
  /** Prompts: the parts first (label k is channel k-1), then background prompts. */
  n: number;
  data: string;
}

export interface PreviewPart {
  /** 1-based label in the label map. */
  label: number;
  name: string;
  prompts: string[];
  /** '#rrggbb' override; the page and the export use the shared palette otherwise. */
  colour?: string;
}

export interface RenderPayload {
  /** A webview URI (asWebviewUri) or a data: URI of the image (a data URI keeps the canvas readable). */
  imageUri: string;
  imageWidth: number;
  imageHeight: number;
  /** Shown above the canvas, e.g. the image path relative to the dataset. */
  title?: string;
  labelMap: WireLabelMap;
  probabilities: WireProbabilities;
  parts: PreviewPart[];
  stats: PartStats[];
  settings: PreviewSettings;
  timing: { ms: number; [step: string]: number };
  modelId?: string;
}

export interface GridItem {
  /** What the host needs to open this image on its own (`openGridItem`). */
  key: string;
  imageUri: string;
  imageWidth: number;
  imageHeight: number;
  /** The fine class shown under the thumbnail. */
  className: string;
  labelMap: WireLabelMap;
  stats: PartStats[];
}

export interface GridPayload {
  /** The coarse category the sample was drawn from. */
  category: string;
  items: GridItem[];
  parts: PreviewPart[];
  settings: PreviewSettings;
  timing: { ms: number; [step: string]: number };
}

/** Host -> page. */
export type HostMessage =
  | { type: 'render'; payload: RenderPayload }
  | { type: 'grid'; payload: GridPayload }
  | { type: 'busy'; busy: boolean; message?: string }
  | { type: 'error'; message: string };

/** Page -> host. */
export type PageMessage =
  | { type: 'ready' }
  | { type: 'settingsChanged'; settings: PreviewSettings }
  | { type: 'exportMasks' }
  | { type: 'openImage' }
  | { type: 'requestGrid' }
  | { type: 'requestSingle' }
  | { type: 'openGridItem'; key: string };

// --- base64 of typed arrays: atob/btoa exist in browsers and in Node >= 16 ---

export function bytesToBase64(bytes: Uint8Array): string {
  let s = '';
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) s += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(s);
}

export function base64ToBytes(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export function encodeLabelMap(labels: LabelMap): WireLabelMap {
  return { width: labels.width, height: labels.height, numParts: labels.numParts, data: bytesToBase64(labels.data) };
}

export function decodeLabelMap(wire: WireLabelMap): LabelMap {
  const data = base64ToBytes(wire.data);
  if (data.length !== wire.width * wire.height) {
    throw new Error(`label map has ${data.length} bytes, expected ${wire.width}x${wire.height}`);
  }
  return { data, width: wire.width, height: wire.height, numParts: wire.numParts };
}

export function encodeProbabilities(probs: Float32Array, gridH: number, gridW: number, n: number): WireProbabilities {
  return { gridH, gridW, n, data: bytesToBase64(new Uint8Array(probs.buffer, probs.byteOffset, probs.byteLength)) };
}

export function decodeProbabilities(wire: WireProbabilities): Float32Array {
  const bytes = base64ToBytes(wire.data);
  if (bytes.length !== wire.gridH * wire.gridW * wire.n * 4) {
    throw new Error(`probabilities have ${bytes.length} bytes, expected ${wire.gridH}x${wire.gridW}x${wire.n} float32`);
  }
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

/** The render message for a pipeline result (what the host panel posts after computePartMasks). */
export function renderMessage(
  result: PartMaskResult,
  image: { uri: string; width: number; height: number; title?: string },
  parts: PreviewPart[],
  settings: PreviewSettings,
  timing: RenderPayload['timing'],
  modelId?: string,
): HostMessage {
  const n = result.probabilities.length / (result.gridHeight * result.gridWidth);
  return {
    type: 'render',
    payload: {
      imageUri: image.uri,
      imageWidth: image.width,
      imageHeight: image.height,
      title: image.title,
      labelMap: encodeLabelMap(result.labels),
      probabilities: encodeProbabilities(result.probabilities, result.gridHeight, result.gridWidth, n),
      parts,
      stats: result.stats,
      settings,
      timing,
      modelId,
    },
  };
}

// --- shape checks: each side checks what it receives (a webview may be sent anything) ---

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function isWireLabelMap(v: unknown): v is WireLabelMap {
  return isObject(v) && isNumber(v.width) && isNumber(v.height) && isNumber(v.numParts) && typeof v.data === 'string';
}

function isParts(v: unknown): v is PreviewPart[] {
  return Array.isArray(v) && v.every((p) => isObject(p) && isNumber(p.label) && typeof p.name === 'string' && Array.isArray(p.prompts));
}

export function isHostMessage(v: unknown): v is HostMessage {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'render': {
      const p = v.payload;
      return (
        isObject(p) &&
        typeof p.imageUri === 'string' &&
        isNumber(p.imageWidth) &&
        isNumber(p.imageHeight) &&
        isWireLabelMap(p.labelMap) &&
        isObject(p.probabilities) &&
        typeof p.probabilities.data === 'string' &&
        isParts(p.parts) &&
        Array.isArray(p.stats) &&
        isPreviewSettings(p.settings) &&
        isObject(p.timing)
      );
    }
    case 'grid': {
      const p = v.payload;
      return (
        isObject(p) &&
        typeof p.category === 'string' &&
        Array.isArray(p.items) &&
        p.items.every((it) => isObject(it) && typeof it.key === 'string' && typeof it.imageUri === 'string' && isWireLabelMap(it.labelMap)) &&
        isParts(p.parts) &&
        isPreviewSettings(p.settings)
      );
    }
    case 'busy':
      return typeof v.busy === 'boolean';
    case 'error':
      return typeof v.message === 'string';
    default:
      return false;
  }
}

export function isPageMessage(v: unknown): v is PageMessage {
  if (!isObject(v)) return false;
  switch (v.type) {
    case 'ready':
    case 'exportMasks':
    case 'openImage':
    case 'requestGrid':
    case 'requestSingle':
      return true;
    case 'settingsChanged':
      return isPreviewSettings(v.settings);
    case 'openGridItem':
      return typeof v.key === 'string';
    default:
      return false;
  }
}
