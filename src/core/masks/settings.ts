// The mask settings, their defaults and their ranges: defined here and nowhere else. The preview,
// `pscl masks`, `pscl cache build` and the training cache start from MASK_DEFAULTS and check
// values with maskSettingProblem, so what the preview shows is what the cache holds. Also the
// preview's own form of them (a preset plus ClearCLIP's three switches). Browser-safe: the
// preview page imports it.
import { DEFAULT_VARIANT, parseVariant } from '../clip/graph/variants';
import { PsclError } from '../errors';
import { CLIP_LOGIT_SCALE } from './similarity';

export interface MaskSettings {
  /** Last-block variant of the image encoder: a name or a spec (docs/clearclip.md). */
  variant: string;
  /** Long side of the encoder input in pixels (each side rounded to the patch size). */
  size: number;
  /** Tile inputs larger than the model's trained size with windows. */
  slidingWindow: boolean;
  /** Odd kernel of the closing (dilate then erode); 1 disables it. */
  kernel: number;
  /** Pixels whose best part probability is below this become background; 0 disables. */
  threshold: number;
  /** Patch-text cosine similarity is multiplied by this before the softmax over prompts. */
  logitScale: number;
}

export const MASK_DEFAULTS: Readonly<MaskSettings> = Object.freeze({
  variant: DEFAULT_VARIANT,
  size: 448,
  slidingWindow: false,
  kernel: 3,
  threshold: 0,
  logitScale: CLIP_LOGIT_SCALE,
});

/** The ranges every shell enforces (the extension's settings schema declares the same; a test holds them together). */
export const MASK_LIMITS = Object.freeze({
  /** Encoder input: at least one patch of the coarsest ViT; beyond 4096 even sliding windows make no sense. */
  size: { min: 32, max: 4096 },
  /** Long side of a mask stored in the training cache. */
  maskSize: { min: 1, max: 4096 },
  /** Odd values only. */
  kernel: { min: 1, max: 255 },
  threshold: { min: 0, max: 1 },
});

export type LimitedSetting = keyof typeof MASK_LIMITS;

/** What is wrong with a setting's value, as 'must be ...', or undefined when it is fine. */
export function maskSettingProblem(name: LimitedSetting, value: unknown): string | undefined {
  const { min, max } = MASK_LIMITS[name];
  const n = typeof value === 'number' ? value : NaN;
  if (name === 'threshold') return Number.isFinite(n) && n >= min && n <= max ? undefined : `must be a probability from ${min} to ${max}`;
  const odd = name === 'kernel';
  const ok = Number.isInteger(n) && n >= min && n <= max && (!odd || n % 2 === 1);
  return ok ? undefined : `must be ${odd ? 'an odd' : 'an'} integer from ${min} to ${max}`;
}

export class MaskSettingsError extends PsclError {
  override name = 'MaskSettingsError';
}

/** MASK_DEFAULTS with the given values on top (undefined ones ignored), checked: a bad value throws, naming the setting. */
export function maskSettings(given: Partial<MaskSettings> = {}): MaskSettings {
  const s: MaskSettings = { ...MASK_DEFAULTS };
  for (const [k, v] of Object.entries(given)) if (v !== undefined) (s as unknown as Record<string, unknown>)[k] = v;
  for (const k of ['size', 'kernel', 'threshold'] as const) {
    const problem = maskSettingProblem(k, s[k]);
    if (problem) throw new MaskSettingsError(`${k} ${problem} (got ${s[k]})`);
  }
  try {
    parseVariant(s.variant);
  } catch (err) {
    throw new MaskSettingsError((err as Error).message);
  }
  return s;
}

// --- the preview's form: a preset, or 'custom' with ClearCLIP's three modifications as switches ---

/** Presets of the last ViT block; 'custom' is any other combination of the three switches. */
export type PreviewVariant = 'vanilla' | 'maskclip' | 'sclip' | 'clearclip' | 'custom';
export const PREVIEW_VARIANTS: readonly PreviewVariant[] = ['vanilla', 'maskclip', 'sclip', 'clearclip', 'custom'];

/** ClearCLIP's three modifications of the last block, each on its own. */
export interface ClearClipSwitches {
  /** Drop the residual connection of the last block. */
  noResidual: boolean;
  /** Drop the feed-forward network of the last block. */
  noFfn: boolean;
  /** Self-attention q q^T instead of q k^T in the last block. */
  qqAttention: boolean;
}

export interface PreviewSettings {
  variant: PreviewVariant;
  /** Meaningful for 'clearclip' (all on) and 'custom'; the page keeps them consistent. */
  switches: ClearClipSwitches;
  kernel: number;
  size: number;
  slidingWindow: boolean;
  threshold: number;
}

/** The switches a preset implies; undefined for presets not built from the three switches. */
export function presetSwitches(variant: PreviewVariant): ClearClipSwitches | undefined {
  if (variant === 'vanilla') return { noResidual: false, noFfn: false, qqAttention: false };
  if (variant === 'clearclip') return { noResidual: true, noFfn: true, qqAttention: true };
  return undefined;
}

const isPreviewVariant = (v: unknown): v is PreviewVariant => PREVIEW_VARIANTS.includes(v as PreviewVariant);

export const DEFAULT_PREVIEW_SETTINGS: PreviewSettings = Object.freeze({
  variant: MASK_DEFAULTS.variant as PreviewVariant,
  switches: presetSwitches(MASK_DEFAULTS.variant as PreviewVariant) ?? { noResidual: true, noFfn: true, qqAttention: true },
  kernel: MASK_DEFAULTS.kernel,
  size: MASK_DEFAULTS.size,
  slidingWindow: MASK_DEFAULTS.slidingWindow,
  threshold: MASK_DEFAULTS.threshold,
});

/**
 * The image-encoder variant in the CLIP core's language (src/core/clip/graph/variants.ts): the
 * preset name, or for 'custom' the three switches as `attn=qq|qk,residual=on|off,ffn=on|off`
 * ('vanilla' when none is on, 'clearclip' when all are).
 */
export function graphVariantName(settings: Pick<PreviewSettings, 'variant' | 'switches'>): string {
  if (settings.variant !== 'custom') return settings.variant;
  const s = settings.switches;
  if (!s.noResidual && !s.noFfn && !s.qqAttention) return 'vanilla';
  if (s.noResidual && s.noFfn && s.qqAttention) return 'clearclip';
  return `attn=${s.qqAttention ? 'qq' : 'qk'},residual=${s.noResidual ? 'off' : 'on'},ffn=${s.noFfn ? 'off' : 'on'}`;
}

/** The mask settings a preview's settings stand for. */
export function previewMaskSettings(p: PreviewSettings): MaskSettings {
  return { ...MASK_DEFAULTS, variant: graphVariantName(p), size: p.size, slidingWindow: p.slidingWindow, kernel: p.kernel, threshold: p.threshold };
}

/** A new preview's settings from the user's settings: each missing or out-of-range value is the default. */
export function previewSettingsFrom(given: { variant?: unknown; kernel?: unknown; size?: unknown; threshold?: unknown }): PreviewSettings {
  const variant = isPreviewVariant(given.variant) ? given.variant : DEFAULT_PREVIEW_SETTINGS.variant;
  const pick = (name: 'kernel' | 'size' | 'threshold') => (maskSettingProblem(name, given[name]) ? DEFAULT_PREVIEW_SETTINGS[name] : (given[name] as number));
  return {
    ...DEFAULT_PREVIEW_SETTINGS,
    variant,
    switches: presetSwitches(variant) ?? { ...DEFAULT_PREVIEW_SETTINGS.switches },
    kernel: pick('kernel'),
    size: pick('size'),
    threshold: pick('threshold'),
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** Shape and range check of settings received from the other side (a webview may send anything). */
export function isPreviewSettings(v: unknown): v is PreviewSettings {
  if (!isObject(v) || !isObject(v.switches)) return false;
  const s = v.switches;
  return (
    isPreviewVariant(v.variant) &&
    typeof s.noResidual === 'boolean' &&
    typeof s.noFfn === 'boolean' &&
    typeof s.qqAttention === 'boolean' &&
    typeof v.slidingWindow === 'boolean' &&
    !maskSettingProblem('kernel', v.kernel) &&
    !maskSettingProblem('size', v.size) &&
    !maskSettingProblem('threshold', v.threshold)
  );
}
