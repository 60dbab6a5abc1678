import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { repoRoot, tempDir } from '../helpers/paths';

const tmp = tempDir();
after(tmp.cleanup);

/** The sample's files, without the training cache `pscl train --project` builds beside it (git ignores it). */
function files(dir: string, base = dir): string[] {
  return readdirSync(dir).filter((n) => n !== '.pscl-cache').flatMap((n) => {
    const p = path.join(dir, n);
    return statSync(p).isDirectory() ? files(p, base) : [path.relative(base, p)];
  });
}

describe('sample generator', () => {
  it('regenerates the committed tiny-birds sample byte for byte', () => {
    const out = path.join(tmp.dir, 'tiny-birds');
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'make-sample.mjs'), out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const committed = path.join(repoRoot, 'samples', 'tiny-birds');
    const names = files(committed).sort();
    assert.deepEqual(files(out).sort(), names);
    assert.equal(names.filter((n) => n.endsWith('.jpg')).length, 72);
    for (const n of names) assert.ok(readFileSync(path.join(out, n)).equals(readFileSync(path.join(committed, n))), `${n} differs`);
    const total = names.reduce((s, n) => s + statSync(path.join(committed, n)).size, 0);
    assert.ok(total < 2 * 1024 * 1024, `sample is ${total} bytes`);
  });
});
