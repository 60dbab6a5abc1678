// VLCL-MG text prototypes: the fine class embedding minus its coarse category's embedding,
// renormalised (T = norm(t_fine - t_coarse)), which keeps fine prototypes from clustering
// around the shared coarse direction.

/** Row-major [rows, dim] matrix. */
export interface Matrix {
  data: Float32Array;
  rows: number;
  dim: number;
}

export function matrix(rows: number, dim: number, data?: Float32Array): Matrix {
  const d = data ?? new Float32Array(rows * dim);
  if (d.length !== rows * dim) throw new Error(`matrix data has ${d.length} values, expected ${rows}x${dim}`);
  return { data: d, rows, dim };
}

/** Stacks equally long rows into a matrix. */
export function stackRows(rows: ArrayLike<number>[], dim?: number): Matrix {
  const d = dim ?? (rows[0]?.length ?? 0);
  const out = new Float32Array(rows.length * d);
  rows.forEach((r, i) => {
    if (r.length !== d) throw new Error(`row ${i} has ${r.length} values, expected ${d}`);
    out.set(r as ArrayLike<number>, i * d);
  });
  return matrix(rows.length, d, out);
}

/** L2-normalises every row in place; a zero row stays zero. */
export function normalizeRows(m: Matrix): Matrix {
  for (let r = 0; r < m.rows; r++) {
    const o = r * m.dim;
    let s = 0;
    for (let j = 0; j < m.dim; j++) s += m.data[o + j] * m.data[o + j];
    const n = Math.sqrt(s);
    if (n > 0) for (let j = 0; j < m.dim; j++) m.data[o + j] /= n;
  }
  return m;
}

export function row(m: Matrix, r: number): Float32Array {
  return m.data.subarray(r * m.dim, (r + 1) * m.dim);
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0;
}

/**
 * T[c] = norm(fine[c] - coarse[coarseIndex[c]]). `fine` and `coarse` are normalised text
 * embeddings; `coarseIndex[c]` is the row of class c's coarse category.
 */
export function vlclPrototypes(fine: Matrix, coarse: Matrix, coarseIndex: ArrayLike<number>): Matrix {
  if (fine.dim !== coarse.dim) throw new Error(`fine embeddings have dimension ${fine.dim}, coarse ${coarse.dim}`);
  if (coarseIndex.length !== fine.rows) throw new Error(`${coarseIndex.length} coarse indices for ${fine.rows} classes`);
  const out = matrix(fine.rows, fine.dim);
  for (let c = 0; c < fine.rows; c++) {
    const k = coarseIndex[c];
    if (!(k >= 0 && k < coarse.rows)) throw new Error(`class ${c} has coarse index ${k}, outside 0..${coarse.rows - 1}`);
    const f = c * fine.dim;
    const g = k * coarse.dim;
    for (let j = 0; j < fine.dim; j++) out.data[f + j] = fine.data[f + j] - coarse.data[g + j];
  }
  return normalizeRows(out);
}
