// `npm test`: TypeScript unit/integration tests (node:test via tsx) and the Python tests
// (Debian's /usr/bin/python3 with torch), then the end-to-end suite in code-server when it is
// installed. `npm test -- unit`, `-- python` or `-- e2e` runs one suite.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const wanted = process.argv.slice(2);
const runs = (name) => wanted.length === 0 || wanted.includes(name);

function findTests(dir, suffix, out = []) {
  if (!existsSync(dir)) return out;
  for (const entry of readdirSync(dir)) {
    const p = path.join(dir, entry);
    if (statSync(p).isDirectory()) findTests(p, suffix, out);
    else if (entry.endsWith(suffix)) out.push(path.relative(root, p));
  }
  return out.sort();
}

function run(cmd, args, env = {}) {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

let failed = 0;
if (runs('unit')) {
  const files = findTests(path.join(root, 'test', 'unit'), '.test.ts');
  if (files.length === 0) {
    console.error('no unit tests found under test/unit');
    failed++;
  } else {
    failed += run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files]) === 0 ? 0 : 1;
  }
}
if (runs('python')) {
  const python = process.env.PSCL_PYTHON || '/usr/bin/python3';
  const dirs = ['test/python', 'trainer/tests'].filter((d) => findTests(path.join(root, d), '.py').some((f) => path.basename(f).startsWith('test_')));
  if (dirs.length > 0) {
    failed += run(python, ['-m', 'pytest', '-q', ...dirs], { PYTHONPATH: root }) === 0 ? 0 : 1;
  } else {
    console.log('no Python tests yet');
  }
}
if (runs('e2e')) {
  // The end-to-end suite needs code-server in .e2e/tools (scripts/e2e-setup.sh; .ci/run does it).
  if (existsSync(path.join(root, '.e2e', 'tools', '.installed'))) {
    failed += run(process.execPath, ['test/e2e/run.mjs']) === 0 ? 0 : 1;
  } else {
    console.log('\ne2e: SKIPPED (code-server not installed: run scripts/e2e-setup.sh, ~2 min, then npm test again)');
  }
}
process.exit(failed === 0 ? 0 : 1);
