// `npm run demo-clip`: makes the demo CLIP (models/demo-clip/) from nothing but this repository:
// birds of the sample's world (generate.mjs), a PyTorch training run on the CPU (train.py), and
// the tokenizer files the core writes for the merges the generator learnt. Deterministic: the
// same weights, byte for byte, on the same kind of machine (see README.md here).
//
//   node --import tsx scripts/demo-clip/make.ts [--out DIR] [--data DIR] [--python /usr/bin/python3]
//        [--check] [--count N --steps N: a different recipe, for experiments]
//
// --check: make the model in a temp folder and compare its files with --out (default
// models/demo-clip), exit 1 when they differ.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildTokenizerConfig, buildTokenizerJson } from '../../src/core/clip/vocab';

const repo = path.resolve(__dirname, '..', '..');
const FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];
export const SUMS_FILE = 'SHA256SUMS';
const TRAINING_FILE = 'training.json';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: path.join(repo, 'models', 'demo-clip') },
    data: { type: 'string' },
    count: { type: 'string', default: '6000' },
    steps: { type: 'string' },
    python: { type: 'string', default: process.env.PSCL_PYTHON || '/usr/bin/python3' },
    check: { type: 'boolean', default: false },
  },
});

function run(cmd: string, args: string[], what: string): string {
  const r = spawnSync(cmd, args, { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.error) throw new Error(`${what}: cannot start ${cmd} (${r.error.message})`);
  if (r.status !== 0) {
    process.stderr.write(r.stdout ?? '');
    throw new Error(`${what} exited with ${r.status}`);
  }
  return r.stdout;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

async function main(): Promise<void> {
  const started = Date.now();
  const out = path.resolve(values.out!);
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'pscl-demo-clip-'));
  try {
    const data = path.resolve(values.data ?? path.join(scratch, 'data'));
    process.stderr.write(`demo-clip: drawing ${values.count} birds into ${data}\n`);
    run(process.execPath, [path.join(__dirname, 'generate.mjs'), '--out', data, '--count', values.count!], 'generate.mjs');
    const model = path.join(scratch, 'model');
    process.stderr.write(`demo-clip: training with ${values.python} (progress: one JSON line per 20 steps)\n`);
    const steps = values.steps ? ['--steps', values.steps] : [];
    const report = JSON.parse(run(values.python!, [path.join(__dirname, 'train.py'), '--data', data, '--out', model, ...steps], 'train.py').trim().split('\n').pop()!);
    const meta = JSON.parse(readFileSync(path.join(data, 'meta.json'), 'utf8')) as { merges: [string, string][]; count: number; sha256: Record<string, string> };
    const config = JSON.parse(readFileSync(path.join(model, 'config.json'), 'utf8')) as { text_config: { max_position_embeddings: number } };
    writeFileSync(path.join(model, 'tokenizer.json'), JSON.stringify(buildTokenizerJson(meta.merges)));
    writeFileSync(path.join(model, 'tokenizer_config.json'), JSON.stringify(buildTokenizerConfig(config.text_config.max_position_embeddings), null, 2) + '\n');
    const sums = FILES.map((f) => `${sha256(path.join(model, f))}  ${f}`).join('\n') + '\n';
    writeFileSync(path.join(model, SUMS_FILE), sums);
    const seconds = Math.round((Date.now() - started) / 1000);
    // how it was made (not hashed: it holds timings); the slow test reads the torch version
    const made = {
      torch: report.torch,
      numpy: report.numpy,
      node: process.version,
      sharp: (JSON.parse(readFileSync(path.join(repo, 'node_modules', 'sharp', 'package.json'), 'utf8')) as { version: string }).version,
      cpu: os.cpus()[0]?.model ?? 'unknown',
      data: { birds: meta.count, sha256: meta.sha256 },
      training: report,
      seconds,
    };
    writeFileSync(path.join(model, TRAINING_FILE), JSON.stringify(made, null, 2) + '\n');
    if (values.check) {
      const want = existsSync(path.join(out, SUMS_FILE)) ? readFileSync(path.join(out, SUMS_FILE), 'utf8') : '(missing)';
      const same = want === sums;
      // which stage differs, when the weights do: the drawn birds, or the training
      const before = existsSync(path.join(out, TRAINING_FILE)) ? (JSON.parse(readFileSync(path.join(out, TRAINING_FILE), 'utf8')) as { data?: { sha256?: unknown } }) : {};
      const sameData = JSON.stringify(before.data?.sha256) === JSON.stringify(meta.sha256);
      console.log(JSON.stringify({ check: same ? 'same' : 'different', sameData, made: sums, committed: want, seconds, training: report }));
      process.exitCode = same ? 0 : 1;
      return;
    }
    // replace the folder in one step: a failed run leaves the old model in place
    mkdirSync(path.dirname(out), { recursive: true });
    const staged = `${out}.new`;
    rmSync(staged, { recursive: true, force: true });
    mkdirSync(staged);
    for (const f of [...FILES, SUMS_FILE, TRAINING_FILE]) writeFileSync(path.join(staged, f), readFileSync(path.join(model, f)));
    // the README stays: it documents the model
    if (existsSync(path.join(out, 'README.md'))) writeFileSync(path.join(staged, 'README.md'), readFileSync(path.join(out, 'README.md')));
    rmSync(out, { recursive: true, force: true });
    renameSync(staged, out);
    console.log(JSON.stringify({ out: path.relative(repo, out), sha256: Object.fromEntries(sums.trim().split('\n').map((l) => l.split('  ').reverse())), seconds, training: report }));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`demo-clip: ${err.message}\n`);
  process.exit(1);
});
