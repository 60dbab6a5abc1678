// Text embeddings for the scores, each distinct text encoded once: after an edit only the texts
// that changed (the edited phrasing through the templates) go through the text encoder.
import type { EmbedTexts } from '../prototypes/build';

export class TextEmbeddings {
  private readonly cache = new Map<string, Float32Array>();
  /** Texts sent to the encoder so far (what a test or a benchmark can watch). */
  encoded = 0;

  constructor(
    private readonly embed: EmbedTexts,
    readonly dim: number,
    private readonly capacity = 50_000,
  ) {}

  /** Encodes what is not cached yet, in one call. */
  async prepare(texts: Iterable<string>, signal?: AbortSignal): Promise<void> {
    const missing = [...new Set([...texts].filter((t) => !this.cache.has(t)))];
    if (missing.length === 0) return;
    const data = await this.embed(missing, signal);
    if (data.length !== missing.length * this.dim) throw new Error(`the text encoder returned ${data.length} values for ${missing.length} texts of dimension ${this.dim}`);
    missing.forEach((t, i) => this.cache.set(t, data.slice(i * this.dim, (i + 1) * this.dim)));
    this.encoded += missing.length;
    while (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value!);
  }

  /** The normalised mean embedding of each group (its texts prepared before). */
  groups(groups: readonly (readonly string[])[]): Float32Array {
    const d = this.dim;
    const out = new Float32Array(groups.length * d);
    groups.forEach((texts, g) => {
      const o = g * d;
      for (const t of texts) {
        const v = this.cache.get(t);
        if (!v) throw new Error(`text not prepared: ${t}`);
        for (let j = 0; j < d; j++) out[o + j] += v[j];
      }
      let s = 0;
      for (let j = 0; j < d; j++) s += out[o + j] * out[o + j];
      const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      for (let j = 0; j < d; j++) out[o + j] *= inv;
    });
    return out;
  }
}
