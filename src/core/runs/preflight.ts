// Before a run starts: the trainer's `preflight` command (trainer/pscl_trainer/preflight.py)
// estimates peak memory and time per step with a one-step probe and says whether the run fits
// (ok), needs a smaller batch (adjust), should give way to the CPU preset (fallback) or cannot
// run here (refuse). `pscl train` and Start Training both run it and apply its verdict.
import { spawn } from 'node:child_process';
import path from 'node:path';

export type PreflightVerdict = 'ok' | 'adjust' | 'fallback' | 'refuse';

export interface PreflightEstimate {
  verdict: PreflightVerdict;
  /** One line: backbone, resolution, batch, device, peak memory of free, s/step, steps, ETA. */
  summary: string;
  device: string;
  backbone: string;
  resolution: number;
  batch_size: number;
  grad_accum: number;
  total_steps: number;
  /** Config overrides the verdict asks for (batch_size/grad_accum on adjust, num_workers on CPU). */
  set: Record<string, unknown>;
  /** With `fallback`: the config to train instead, and its own estimate. */
  config?: string;
  fallback?: PreflightEstimate;
  messages: string[];
  warnings: string[];
  /** With `refuse`: what to do instead. */
  advice?: string;
  memory: { kind: string; peak_bytes: number | null; free_bytes: number; total_bytes: number };
  time: { step_s: number | null; eta_s: number | null; probe: string };
  weights?: { source: string; kind: string; file?: string; status: 'found' | 'download' | 'none' } | null;
}

export interface PreflightOptions {
  python: string;
  trainerPath: string;
  /** The run folder: the probe is kept there (preflight.json) for the trainer to reuse. */
  runDir: string;
  cache?: string;
  config?: string;
  set?: Record<string, unknown>;
  resume?: boolean;
  device?: 'auto' | 'cpu' | 'cuda';
  nproc?: number;
  /** The config was nobody's choice: without a GPU the CPU preset may replace it. */
  allowFallback?: boolean;
  /** Do not refuse a long CPU run (memory is checked regardless). */
  force?: boolean;
  /** Download missing ImageNet weights now (progress on stderr). */
  fetch?: boolean;
  env?: Record<string, string>;
  onStderr?: (text: string) => void;
  signal?: AbortSignal;
}

export function preflightArgs(o: Omit<PreflightOptions, 'python' | 'trainerPath' | 'env' | 'onStderr' | 'signal'>): string[] {
  const args = ['preflight', '--run', o.runDir];
  if (o.cache) args.push('--cache', o.cache);
  if (o.config) args.push('--config', o.config);
  if (o.resume) args.push('--resume');
  if (o.device) args.push('--device', o.device);
  if (o.nproc && o.nproc > 1) args.push('--nproc', String(o.nproc));
  if (o.allowFallback) args.push('--allow-fallback');
  if (o.force) args.push('--force');
  if (o.fetch) args.push('--fetch');
  for (const [k, v] of Object.entries(o.set ?? {})) args.push('--set', `${k}=${JSON.stringify(v)}`);
  return args;
}

/** Runs `python -m pscl_trainer preflight ...`; rejects with the trainer's own error message. */
export async function runPreflight(o: PreflightOptions): Promise<PreflightEstimate> {
  const child = spawn(o.python, ['-u', '-m', 'pscl_trainer', ...preflightArgs(o)], {
    env: { ...process.env, ...o.env, PYTHONPATH: [o.trainerPath, o.env?.PYTHONPATH ?? process.env.PYTHONPATH].filter(Boolean).join(path.delimiter), PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    signal: o.signal,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    o.onStderr?.(d.toString());
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.name === 'AbortError' ? err : new Error(err.code === 'ENOENT' ? `cannot start Python "${o.python}": not found. Set "pscl.python" (or --python) to an interpreter with PyTorch.` : err.message)),
    );
    child.once('exit', (c) => resolve(c));
  });
  const lines = stdout.split('\n').map((l) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  });
  const result = lines.filter((e) => e?.type === 'preflight').pop();
  if (code === 0 && result) return result as unknown as PreflightEstimate;
  const error = lines.filter((e) => e?.type === 'error').pop();
  throw new Error(`preflight failed (exit ${code}): ${(error?.message as string | undefined) ?? (stderr.trim().split('\n').slice(-3).join('\n') || 'no output')}`);
}

/** The estimate of what will actually run (the CPU preset's on `fallback`). */
export function runningEstimate(e: PreflightEstimate): PreflightEstimate {
  return e.verdict === 'fallback' && e.fallback ? e.fallback : e;
}

export interface AppliedPreflight {
  /** The config to train (the fallback preset's name on `fallback`). */
  config?: string;
  set: Record<string, unknown>;
  /** What changed and why, for the user. */
  notes: string[];
}

/** The run's config and overrides after the verdict (refuse is the caller's to report). */
export function applyPreflight(e: PreflightEstimate, config: string | undefined, set: Record<string, unknown>): AppliedPreflight {
  if (e.verdict === 'fallback' && e.config) {
    // why (the last message), then what the preset will take; the user's own overrides (epochs...) still apply
    const why = e.messages[e.messages.length - 1];
    return { config: e.config, set: { ...set, ...(e.fallback?.set ?? {}) }, notes: [...(why ? [why] : []), ...(e.fallback?.messages ?? [])] };
  }
  return { config, set: { ...set, ...e.set }, notes: [...e.messages] };
}

const GB = 2 ** 30;

export function formatBytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '?';
  return n >= GB ? `${(n / GB).toFixed(1)} GB` : `${Math.round(n / 2 ** 20)} MB`;
}
