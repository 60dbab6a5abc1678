// A unified-diff-like listing of two versions of a text, for showing proposed edits on the
// terminal. Only the changed line span is compared (an LCS over those lines), which keeps it fast
// for large project files where an edit touches a few regions.

function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

type Op = { kind: ' ' | '-' | '+'; line: string; a: number; b: number };

/** Line operations turning a into b (LCS; quadratic in the changed span only). */
function lineOps(a: string[], b: string[]): Op[] {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let end = 0;
  while (end < a.length - start && end < b.length - start && a[a.length - 1 - end] === b[b.length - 1 - end]) end++;
  const ma = a.slice(start, a.length - end);
  const mb = b.slice(start, b.length - end);
  const ops: Op[] = a.slice(0, start).map((line, i) => ({ kind: ' ', line, a: i, b: i }));
  if (ma.length * mb.length > 4_000_000) {
    // Too large to align: show the span as removed then added.
    ma.forEach((line, i) => ops.push({ kind: '-', line, a: start + i, b: start }));
    mb.forEach((line, j) => ops.push({ kind: '+', line, a: start + ma.length, b: start + j }));
  } else {
    const w = mb.length + 1;
    const lcs = new Uint32Array((ma.length + 1) * w);
    for (let i = ma.length - 1; i >= 0; i--) {
      for (let j = mb.length - 1; j >= 0; j--) {
        lcs[i * w + j] = ma[i] === mb[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < ma.length || j < mb.length) {
      if (i < ma.length && j < mb.length && ma[i] === mb[j]) {
        ops.push({ kind: ' ', line: ma[i], a: start + i++, b: start + j++ });
      } else if (i < ma.length && (j === mb.length || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])) {
        ops.push({ kind: '-', line: ma[i], a: start + i++, b: start + j });
      } else {
        ops.push({ kind: '+', line: mb[j], a: start + i, b: start + j++ });
      }
    }
  }
  a.slice(a.length - end).forEach((line, k) => ops.push({ kind: ' ', line, a: a.length - end + k, b: b.length - end + k }));
  return ops;
}

/** `--- a` / `+++ b` and hunks with `context` lines around each change; '' when equal. */
export function unifiedDiff(before: string, after: string, labels: { a: string; b: string }, context = 2): string {
  if (before === after) return '';
  const ops = lineOps(splitLines(before), splitLines(after));
  const out = [`--- ${labels.a}`, `+++ ${labels.b}`];
  const changed = ops.map((o, k) => (o.kind !== ' ' ? k : -1)).filter((k) => k >= 0);
  let k = 0;
  while (k < changed.length) {
    const from = Math.max(0, changed[k] - context);
    let to = Math.min(ops.length - 1, changed[k] + context);
    while (k + 1 < changed.length && changed[k + 1] - context <= to + 1) to = Math.min(ops.length - 1, changed[++k] + context);
    k++;
    const hunk = ops.slice(from, to + 1);
    const aLen = hunk.filter((o) => o.kind !== '+').length;
    const bLen = hunk.filter((o) => o.kind !== '-').length;
    out.push(`@@ -${hunk[0].a + 1},${aLen} +${hunk[0].b + 1},${bLen} @@`);
    for (const o of hunk) out.push(`${o.kind}${o.line}`);
  }
  return out.join('\n') + '\n';
}
