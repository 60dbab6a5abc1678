// Transfer costs of the backend: tensor encoding on the wire and model download throughput.
// Prints one JSON object per line, each with a ratio against a baseline measured in the same run.
// Run: node --import tsx bench/backend-transfer.ts [--mb 100]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { resolveModel } from '../src/core/clip/download';
import { decodeFloat32, encodeFloat32 } from '../src/core/rpc/tensor';
import { addRepo, clipRepoFiles, FakeHub } from '../test/unit/fixtures/fake-hub';

function best(runs: number, fn: () => void | Promise<void>): Promise<number> {
  return (async () => {
    let min = Infinity;
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await fn();
      min = Math.min(min, performance.now() - t);
    }
    return min;
  })();
}

async function tensorEncoding() {
  // Dense features of a ViT-B/16 at 448: [28, 28, 512].
  const shape = [28, 28, 512];
  const data = Float32Array.from({ length: 28 * 28 * 512 }, (_, i) => Math.sin(i) * 0.1);
  let b64 = '';
  let json = '';
  const base64Ms = await best(5, () => {
    b64 = JSON.stringify(encodeFloat32(data, shape));
    decodeFloat32(JSON.parse(b64));
  });
  const jsonMs = await best(5, () => {
    json = JSON.stringify({ shape, data: Array.from(data) });
    Float32Array.from(JSON.parse(json).data as number[]);
  });
  console.log(JSON.stringify({ bench: 'tensor-encoding', shape, base64_ms: +base64Ms.toFixed(2), json_array_ms: +jsonMs.toFixed(2), base64_bytes: b64.length, json_array_bytes: json.length, speedup_vs_json_array: +(jsonMs / base64Ms).toFixed(2), size_ratio_vs_json_array: +(b64.length / json.length).toFixed(3) }));
}

async function download(mb: number) {
  const hub = await new FakeHub().start();
  const files = clipRepoFiles(mb * 1e6, 11);
  addRepo(hub, 'bench/clip', files);
  const cache = mkdtempSync(path.join(os.tmpdir(), 'pscl-bench-dl-'));
  try {
    // Baseline: one plain fetch of the same body into memory, then one write.
    const url = `${hub.url}/bench/clip/resolve/main/model.safetensors`;
    const bareMs = await best(2, async () => {
      const body = Buffer.from(await (await fetch(url)).arrayBuffer());
      writeFileSync(path.join(cache, 'bare.bin'), body);
    });
    let resolveMs = Infinity;
    for (let i = 0; i < 2; i++) {
      rmSync(path.join(cache, 'bench--clip'), { recursive: true, force: true });
      const t = performance.now();
      await resolveModel('bench/clip', { cacheDir: cache, endpoint: hub.url, token: '' });
      resolveMs = Math.min(resolveMs, performance.now() - t);
    }
    const total = Object.values(files).reduce((a, f) => a + f.body.length, 0);
    console.log(JSON.stringify({ bench: 'download-loopback', bytes: total, resolve_MBps: +(total / 1e3 / resolveMs).toFixed(1), bare_fetch_MBps: +(mb * 1e3 / bareMs).toFixed(1), throughput_ratio_vs_bare_fetch: +(total / resolveMs / ((mb * 1e6) / bareMs)).toFixed(2), note: 'resolve includes HEAD requests, .part writes, sha256 verification and rename' }));
  } finally {
    await hub.close();
    rmSync(cache, { recursive: true, force: true });
  }
}

const mbArg = process.argv.indexOf('--mb');
const mb = mbArg > 0 ? Number(process.argv[mbArg + 1]) : 100;
void (async () => {
  await tensorEncoding();
  await download(mb);
})();
