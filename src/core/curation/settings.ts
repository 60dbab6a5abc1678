// What the curation checks count as a problem: one home for the thresholds, shared by
// `pscl curate` and the Dataset view (docs/curation.md explains each).
export interface CurationSettings {
  /** Perceptual-hash near-duplicates: at most this many of the 64 bits differ (0..16). */
  hashDistance: number;
  /** Embedding near-duplicates: cosine similarity at or above this (0..1). */
  nearCosine: number;
  /** Neighbours per image for k-NN label disagreement and in-class density. */
  k: number;
  /** An image whose shorter side is below this many pixels is small. */
  minSide: number;
  /** Long side / short side above this is an extreme aspect ratio. */
  maxAspect: number;
  /** Mean channel spread (0..255) below this is a greyscale image. */
  greyTolerance: number;
  /** Mislabel evidence below this score is not reported (0..1). */
  minMislabelScore: number;
  /** In-class density this many robust deviations below the class median is an outlier. */
  outlierDeviations: number;
}

export const CURATION_DEFAULTS: CurationSettings = {
  hashDistance: 3,
  nearCosine: 0.95,
  k: 10,
  minSide: 64,
  maxAspect: 4,
  greyTolerance: 3,
  minMislabelScore: 0.2,
  outlierDeviations: 3,
};

export const CURATION_LIMITS: Record<keyof CurationSettings, { min: number; max: number; integer?: boolean }> = {
  hashDistance: { min: 0, max: 16, integer: true },
  nearCosine: { min: 0, max: 1 },
  k: { min: 1, max: 100, integer: true },
  minSide: { min: 1, max: 4096, integer: true },
  maxAspect: { min: 1, max: 100 },
  greyTolerance: { min: 0, max: 255 },
  minMislabelScore: { min: 0, max: 1 },
  outlierDeviations: { min: 0.5, max: 20 },
};

/** Why a value cannot be that setting (undefined when fine). */
export function curationSettingProblem(name: keyof CurationSettings, value: number): string | undefined {
  const l = CURATION_LIMITS[name];
  if (!Number.isFinite(value) || value < l.min || value > l.max || (l.integer && !Number.isInteger(value))) {
    return `${name} must be ${l.integer ? 'an integer' : 'a number'} from ${l.min} to ${l.max} (got ${value})`;
  }
  return undefined;
}

export function curationSettings(s: Partial<CurationSettings> = {}): CurationSettings {
  const out = { ...CURATION_DEFAULTS, ...Object.fromEntries(Object.entries(s).filter(([, v]) => v !== undefined)) } as CurationSettings;
  for (const k of Object.keys(CURATION_LIMITS) as (keyof CurationSettings)[]) {
    const why = curationSettingProblem(k, out[k]);
    if (why) throw new RangeError(why);
  }
  return out;
}
