// Shared by the reliability tests: the CLI run as a user runs it (the bundle, a time limit, the
// output checked for stack traces), and small file makers.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { repoRoot } from '../helpers/paths';

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  ms: number;
  /** True when the run was killed at the time limit. */
  timedOut: boolean;
}

/**
 * Runs `node bin/pscl.js ...args` and resolves when it exits or after `limitMs` (then it is
 * killed and `timedOut` is set: a hang is a failure, never a test that waits forever).
 */
export function pscl(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; limitMs?: number; onStart?: (pid: number) => void; onStderr?: (text: string) => void } = {}): Promise<CliRun> {
  const started = Date.now();
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin', 'pscl.js'), ...args], {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  options.onStart?.(child.pid!);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    options.onStderr?.(d);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.limitMs ?? 60_000);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err, ms: Date.now() - started, timedOut });
    });
  });
}

/** A stack trace in CLI output ("    at fn (file:1:2)"): bad input must never print one. */
export const STACK = /\n\s+at .+:\d+:\d+\)?/;

/**
 * A PNG file from its parts, for the kinds no encoder writes on request (1-bit grey, 16-bit grey +
 * alpha, a header claiming any size): IHDR with the given bit depth and colour type, the
 * (already deflated) IDAT data, and any chunks between them.
 */
export function pngFile(ihdr: { width: number; height: number; depth: number; colourType: number }, idat: Uint8Array, extra: Array<[string, Uint8Array]> = []): Buffer {
  const chunk = (type: string, data: Uint8Array) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const head = Buffer.alloc(13);
  head.writeUInt32BE(ihdr.width, 0);
  head.writeUInt32BE(ihdr.height, 4);
  head.set([ihdr.depth, ihdr.colourType, 0, 0, 0], 8);
  const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([signature, chunk('IHDR', head), ...extra.map(([t, d]) => chunk(t, d)), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}
