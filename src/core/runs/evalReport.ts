// eval.json: the trainer's evaluation of a run (global branch on the eval split). Parsed into a
// validated EvalReport; any inconsistency is an error naming the file and the field.
// The fields read are documented in docs/runs.md.

export interface EvalClass {
  index: number;
  id: string;
  name: string;
}

export interface PerClassResult {
  index: number;
  count: number;
  correct: number;
  top1: number;
  top5?: number;
}

export interface WrongImage {
  key: string;
  /** Image path relative to the cache's dataset root. */
  path: string;
  /** Mask path relative to the cache folder, when the trainer recorded it. */
  mask?: string;
  label: number;
  pred: number;
  confidence: number;
  /** Top-5 predictions (class index, probability). */
  top5?: Array<[number, number]>;
}

export interface EvalReport {
  split: string;
  epoch?: number;
  numImages: number;
  top1: number;
  top5?: number;
  levels: string[];
  perLevel: Record<string, number>;
  classes: EvalClass[];
  perClass: PerClassResult[];
  /** Fine-level confusion, rows = true class, columns = predicted class. */
  confusion: number[][];
  wrong: WrongImage[];
  /** Checkpoint evaluated, relative to the run folder. */
  checkpoint?: string;
  /** Value of every class at every level (fine last), when eval.json carries the taxonomy. */
  classLevels?: string[][];
}

export class EvalFormatError extends Error {
  constructor(readonly file: string, message: string) {
    super(`${file}: ${message}`);
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isCount = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;

export function parseEvalReport(text: string, file = 'eval.json'): EvalReport {
  const fail = (msg: string): never => {
    throw new EvalFormatError(file, `${msg}; re-run the evaluation (pscl eval --run DIR) to rewrite it`);
  };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    return fail(`not valid JSON (${(err as Error).message})`);
  }
  if (!isObj(v)) return fail('must hold a JSON object');
  if (v.format !== undefined && v.format !== 'pscl-eval') return fail(`"format" is ${JSON.stringify(v.format)}, not "pscl-eval"`);
  if (v.version !== undefined && v.version !== 1) return fail(`version ${String(v.version)} is newer than this extension reads (1); update PSCL Studio`);
  const frac = (name: string, x: unknown, optional = false): number | undefined => {
    if (x === undefined || x === null) return optional ? undefined : fail(`"${name}" is missing`);
    if (!isNum(x) || x < 0 || x > 1) return fail(`"${name}" must be a fraction between 0 and 1, got ${JSON.stringify(x)}`);
    return x;
  };

  if (!Array.isArray(v.classes) || v.classes.length === 0) return fail('"classes" must be a non-empty list');
  const classes: EvalClass[] = v.classes.map((c, i) => {
    if (typeof c === 'string') return { index: i, id: String(i), name: c };
    if (!isObj(c) || typeof c.name !== 'string') return fail(`classes[${i}] needs a "name"`);
    if (c.index !== undefined && c.index !== i) return fail(`classes[${i}].index is ${String(c.index)}: classes must be listed in index order`);
    return { index: i, id: c.id === undefined ? String(i) : String(c.id), name: c.name };
  });
  const n = classes.length;

  if (!Array.isArray(v.confusion) || v.confusion.length !== n) return fail(`"confusion" must be a ${n}x${n} matrix (one row per class)`);
  const confusion = v.confusion.map((row, i) => {
    if (!Array.isArray(row) || row.length !== n) return fail(`confusion[${i}] must have ${n} counts`);
    return row.map((x, j) => (isCount(x) ? x : fail(`confusion[${i}][${j}] must be a non-negative integer, got ${JSON.stringify(x)}`)));
  });
  const numImages = confusion.reduce((s, row) => s + row.reduce((a, b) => a + b, 0), 0);
  if (v.num_images !== undefined && v.num_images !== numImages) {
    return fail(`"num_images" is ${String(v.num_images)} but the confusion matrix counts ${numImages} images`);
  }

  const top5ByClass = new Map<number, number>();
  if (v.per_class !== undefined) {
    if (!Array.isArray(v.per_class)) return fail('"per_class" must be a list');
    v.per_class.forEach((r, i) => {
      if (!isObj(r)) return fail(`per_class[${i}] must be an object`);
      const idx = r.index === undefined ? i : r.index;
      if (!Number.isInteger(idx) || (idx as number) < 0 || (idx as number) >= n) return fail(`per_class[${i}].index is out of range`);
      const t5 = frac(`per_class[${i}].top5`, r.top5, true);
      if (t5 !== undefined) top5ByClass.set(idx as number, t5);
    });
  }
  // per-class top-1 always comes from the matrix, so the table and the matrix cannot disagree
  const perClass: PerClassResult[] = confusion.map((row, i) => {
    const count = row.reduce((a, b) => a + b, 0);
    const correct = row[i];
    return { index: i, count, correct, top1: count > 0 ? correct / count : 0, top5: top5ByClass.get(i) };
  });

  const levels = Array.isArray(v.levels) && v.levels.every((l) => typeof l === 'string') ? (v.levels as string[]) : [];
  const perLevel: Record<string, number> = {};
  if (v.per_level !== undefined) {
    if (!isObj(v.per_level)) return fail('"per_level" must map level names to accuracies');
    for (const [k, x] of Object.entries(v.per_level)) perLevel[k] = frac(`per_level.${k}`, x) as number;
  }

  let classLevels: string[][] | undefined;
  if (isObj(v.level_values) && levels.length > 0) {
    const lv = v.level_values;
    classLevels = v.classes.map((c, i) => {
      const li = isObj(c) ? c.level_index : undefined;
      if (!Array.isArray(li) || li.length !== levels.length) return fail(`classes[${i}].level_index must give one index per level (${levels.length})`);
      return levels.map((level, k) => {
        const values = lv[level];
        const value = Array.isArray(values) ? values[li[k] as number] : undefined;
        return typeof value === 'string' ? value : fail(`classes[${i}].level_index[${k}] does not name a value of level_values.${level}`);
      });
    });
  }

  const wrong: WrongImage[] = [];
  // the trainer writes "most_confident_wrong" with "true"/"predicted"; "wrong" with "label"/"pred" is read too
  const wrongList = v.most_confident_wrong ?? v.wrong;
  const W = v.most_confident_wrong !== undefined ? 'most_confident_wrong' : 'wrong';
  if (wrongList !== undefined) {
    if (!Array.isArray(wrongList)) return fail(`"${W}" must be a list`);
    wrongList.forEach((w, i) => {
      if (!isObj(w)) return fail(`${W}[${i}] must be an object`);
      const label = w.true ?? w.label, pred = w.predicted ?? w.pred;
      if (!Number.isInteger(label) || (label as number) < 0 || (label as number) >= n) return fail(`${W}[${i}]: the true class is not a class index`);
      if (!Number.isInteger(pred) || (pred as number) < 0 || (pred as number) >= n) return fail(`${W}[${i}]: the predicted class is not a class index`);
      if (typeof w.path !== 'string') return fail(`${W}[${i}].path is missing`);
      const top5 = Array.isArray(w.top5)
        ? w.top5.map((t, k) => (Array.isArray(t) && isCount(t[0]) && isNum(t[1]) ? ([t[0], t[1]] as [number, number]) : fail(`${W}[${i}].top5[${k}] must be [class index, probability]`)))
        : undefined;
      wrong.push({
        key: typeof w.key === 'string' ? w.key : String(i),
        path: w.path,
        mask: typeof w.mask === 'string' ? w.mask : undefined,
        label: label as number,
        pred: pred as number,
        confidence: frac(`${W}[${i}].confidence`, w.confidence) as number,
        top5,
      });
    });
  }
  wrong.sort((a, b) => b.confidence - a.confidence);

  return {
    split: typeof v.split === 'string' ? v.split : 'test',
    epoch: isNum(v.epoch) ? v.epoch : undefined,
    numImages,
    top1: frac('top1', v.top1) as number,
    top5: frac('top5', v.top5, true),
    levels,
    perLevel,
    classes,
    perClass,
    confusion,
    wrong,
    checkpoint: typeof v.checkpoint === 'string' ? v.checkpoint : undefined,
    classLevels,
  };
}
