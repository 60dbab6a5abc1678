// Speed of the run model on a long run: reading + folding events.jsonl (the dashboard snapshot and
// the runs view read it whole) against a plain readFileSync + JSON.parse baseline in the same run,
// incremental polls of an appended tail, and the confusion roll-up of a NABirds-sized matrix.
// Prints one JSON object per line. Run: node --import tsx bench/runs-model.ts
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventTail } from '../src/core/runs/tail';
import { foldEvents } from '../src/core/runs/summary';
import { rollUp, type ClassTaxonomy } from '../src/core/runs/confusion';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'pscl-bench-runs-'));
const file = path.join(tmp, 'events.jsonl');
const N = 100_000;
const lines: string[] = [JSON.stringify({ type: 'start', time: 0, total_steps: N, epochs: 100 })];
for (let i = 1; i <= N; i++) {
  lines.push(JSON.stringify({ type: 'progress', time: i, epoch: Math.floor(i / 1000), step: i, total_steps: N, loss: 1 / i, lr: 1e-4, images_per_s: 512.5, eta_s: N - i }));
  if (i % 1000 === 0) lines.push(JSON.stringify({ type: 'metrics', time: i, epoch: i / 1000, step: i, split: 'val', loss: 0.5, acc: { top1: 0.8 }, stage_loss: { s1: 1, s2: 1, s3: 1, s4: 1 } }));
}
writeFileSync(file, `${lines.join('\n')}\n`);
const bytes = readFileSync(file).length;

function time<T>(fn: () => T | Promise<T>, reps = 5): Promise<number> {
  return (async () => {
    const ts: number[] = [];
    for (let r = 0; r < reps; r++) {
      const t = performance.now();
      await fn();
      ts.push(performance.now() - t);
    }
    return ts.sort((a, b) => a - b)[Math.floor(reps / 2)];
  })();
}

async function main(): Promise<void> {
  const baseline = await time(() => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
  const oursFold = await time(async () => foldEvents((await new EventTail(file).readAll()).events));
  console.log(JSON.stringify({ bench: 'events.readAll+fold', events: lines.length, mb: +(bytes / 1e6).toFixed(1), ms: +oursFold.toFixed(1), baseline_parse_ms: +baseline.toFixed(1), ratio: +(oursFold / baseline).toFixed(2) }));

  // incremental poll: 10 new lines appended to the 100k-event file
  const tail = new EventTail(file);
  await tail.readAll();
  const poll = await time(async () => {
    appendFileSync(file, `${lines.slice(1, 11).join('\n')}\n`);
    await tail.read();
  }, 21);
  console.log(JSON.stringify({ bench: 'events.poll(10 new lines)', ms: +poll.toFixed(3), ratio_vs_full_read: +(poll / oursFold).toFixed(4) }));

  // roll-up of a 555-class matrix (NABirds fine classes) to 3 coarser levels
  const C = 555;
  const confusion = Array.from({ length: C }, (_, i) => Array.from({ length: C }, (_, j) => (i === j ? 20 : (i * 31 + j * 17) % 97 === 0 ? 1 : 0)));
  const tax: ClassTaxonomy = { levels: ['order', 'family', 'genus', 'species'], classLevels: Array.from({ length: C }, (_, i) => [`o${i % 22}`, `f${i % 95}`, `g${i % 300}`, `s${i}`]) };
  const naive = await time(() => {
    // baseline: the obvious per-cell loop over a Map keyed by value pairs
    const m = new Map<string, number>();
    for (let i = 0; i < C; i++) for (let j = 0; j < C; j++) m.set(`${tax.classLevels[i][1]}|${tax.classLevels[j][1]}`, (m.get(`${tax.classLevels[i][1]}|${tax.classLevels[j][1]}`) ?? 0) + confusion[i][j]);
    return m;
  });
  const roll = await time(() => rollUp(confusion, tax, 'family'));
  console.log(JSON.stringify({ bench: 'confusion.rollUp 555->95', ms: +roll.toFixed(2), baseline_map_ms: +naive.toFixed(2), ratio: +(roll / naive).toFixed(3) }));
  rmSync(tmp, { recursive: true, force: true });
}

void main();
