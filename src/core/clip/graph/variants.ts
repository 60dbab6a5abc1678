/**
 * The last vision block, in the variants the mask preview can switch between.
 *
 * With x the tokens entering the last block ([CLS, patches]), y = ln_1(x),
 * q = y Wq + bq, k = y Wk + bk, v = y Wv + bv (per head, d = d_head) and
 * S(a, b) = softmax(a b^T / sqrt(d)):
 *
 *   attention  qk:        o = S(q, k) v            (standard CLIP)
 *              qq:        o = S(q, q) v            (ClearCLIP)
 *              kk:        o = S(k, k) v
 *              vv:        o = S(v, v) v
 *              qq+kk:     o = (S(q, q) + S(k, k)) v (SCLIP's correlative self-attention)
 *              identity:  o = v                    (MaskCLIP: each token keeps its own value)
 *   a = out_proj(o)
 *   residual   on: z = x + a      off: z = a
 *   ffn        on: z = z + mlp(ln_2(z))            off: z unchanged
 *
 * then every patch token goes through ln_post and the visual projection and is L2-normalised.
 * The named variants:
 *
 *   vanilla       qk        residual on   ffn on
 *   maskclip      identity  residual off  ffn off
 *   sclip         qq+kk     residual on   ffn on
 *   clearclip     qq        residual off  ffn off
 *   no-residual   qk        residual off  ffn on    (ClearCLIP's changes one at a time,
 *   no-ffn        qk        residual on   ffn off    each applied to vanilla)
 *   qq            qq        residual on   ffn on
 *
 * Any other combination is written `attn=<kind>,residual=on|off,ffn=on|off`.
 */
export type AttentionKind = 'qk' | 'qq' | 'kk' | 'vv' | 'qq+kk' | 'identity';
export const ATTENTION_KINDS: readonly AttentionKind[] = ['qk', 'qq', 'kk', 'vv', 'qq+kk', 'identity'];

export interface LastBlockVariant {
  attention: AttentionKind;
  residual: boolean;
  ffn: boolean;
}

export const NAMED_VARIANTS = {
  vanilla: { attention: 'qk', residual: true, ffn: true },
  maskclip: { attention: 'identity', residual: false, ffn: false },
  sclip: { attention: 'qq+kk', residual: true, ffn: true },
  clearclip: { attention: 'qq', residual: false, ffn: false },
  'no-residual': { attention: 'qk', residual: false, ffn: true },
  'no-ffn': { attention: 'qk', residual: true, ffn: false },
  qq: { attention: 'qq', residual: true, ffn: true },
} as const satisfies Record<string, LastBlockVariant>;

export type VariantName = keyof typeof NAMED_VARIANTS;
export const VARIANT_NAMES = Object.keys(NAMED_VARIANTS) as VariantName[];

/** What dense features are computed with unless told otherwise: the method's (ClearCLIP). */
export const DEFAULT_VARIANT: VariantName = 'clearclip';

export class VariantError extends Error {}

/** A variant name or an `attn=..,residual=..,ffn=..` spec (missing keys take vanilla's values). */
export function parseVariant(spec: string): LastBlockVariant {
  const named = (NAMED_VARIANTS as Record<string, LastBlockVariant>)[spec];
  if (named) return { ...named };
  const v: LastBlockVariant = { attention: 'qk', residual: true, ffn: true };
  const usage = `variant '${spec}': use one of ${VARIANT_NAMES.join(', ')} or 'attn=${ATTENTION_KINDS.join('|')},residual=on|off,ffn=on|off'`;
  for (const part of spec.split(',')) {
    const [key, value] = part.split('=').map((s) => s.trim());
    const onOff = (x: string | undefined) => {
      if (x === 'on' || x === 'true' || x === '1') return true;
      if (x === 'off' || x === 'false' || x === '0') return false;
      throw new VariantError(usage);
    };
    if (key === 'attn' && ATTENTION_KINDS.includes(value as AttentionKind)) v.attention = value as AttentionKind;
    else if (key === 'residual') v.residual = onOff(value);
    else if (key === 'ffn') v.ffn = onOff(value);
    else throw new VariantError(usage);
  }
  return v;
}

/** The canonical spec string of a variant (a cache key and what `parseVariant` reads back). */
export function variantKey(v: LastBlockVariant): string {
  return `attn=${v.attention},residual=${v.residual ? 'on' : 'off'},ffn=${v.ffn ? 'on' : 'off'}`;
}
