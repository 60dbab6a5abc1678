// `npm test`: TypeScript unit/integration tests (node:test via tsx) and the Python tests
// (Debian's /usr/bin/python3 with torch), then the end-to-end suite in code-server when it is
// installed. `npm test -- unit`, `-- python` or `-- e2e` runs one suite. The reliability suite
// (test/reliability: hostile input and faults) runs with the unit tests, or alone with
// `-- reliability`.
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

const python = process.env.PSCL_PYTHON || '/usr/bin/python3';
const e2eInstalled = () => existsSync(path.join(root, '.e2e', 'tools', '.installed'));
const hasTorch = () => spawnSync(python, ['-c', 'import torch, pytest'], { stdio: 'ignore' }).status === 0;

// A fresh machine: install the Debian packages and code-server the suites need (scripts/setup.sh).
if ((runs('python') && !hasTorch()) || (runs('e2e') && !e2eInstalled())) {
  if (process.env.PSCL_NO_SETUP) {
    console.log('setup: PSCL_NO_SETUP is set, so missing packages are not installed; the suites that need them are skipped');
  } else {
    console.log('setup: installing what the tests need (scripts/setup.sh; once, about 3 minutes)');
    if (run('bash', [path.join(root, 'scripts', 'setup.sh')]) !== 0) console.log('setup: failed; the suites that need it are skipped (see above)');
  }
}

let failed = 0;
if (runs('unit') || runs('reliability')) {
  const files = [
    ...(runs('unit') ? findTests(path.join(root, 'test', 'unit'), '.test.ts') : []),
    ...findTests(path.join(root, 'test', 'reliability'), '.test.ts'),
  ];
  if (files.length === 0) {
    console.error('no unit tests found under test/unit or test/reliability');
    failed++;
  } else {
    failed += run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', ...files]) === 0 ? 0 : 1;
  }
}
if (runs('python') && !hasTorch()) {
  console.log(`\npython: SKIPPED (${python} cannot import torch and pytest: run scripts/setup.sh or set PSCL_PYTHON)`);
} else if (runs('python')) {
  const dirs = ['test/python', 'trainer/tests'].filter((d) => findTests(path.join(root, d), '.py').some((f) => path.basename(f).startsWith('test_')));
  if (dirs.length > 0) {
    // tests marked slow (minutes of CPU: the demo CLIP retrained) run unless PSCL_SKIP_SLOW is set
    const slow = process.env.PSCL_SKIP_SLOW ? ['-m', 'not slow'] : [];
    failed += run(python, ['-m', 'pytest', '-q', ...slow, ...dirs], { PYTHONPATH: root }) === 0 ? 0 : 1;
  } else {
    console.log('no Python tests yet');
  }
}
if (runs('e2e')) {
  // The end-to-end suite needs code-server in .e2e/tools (scripts/e2e-setup.sh).
  if (e2eInstalled()) {
    failed += run(process.execPath, ['test/e2e/run.mjs']) === 0 ? 0 : 1;
  } else {
    console.log('\ne2e: SKIPPED (code-server not installed: run scripts/setup.sh, ~2 min, then npm test again)');
  }
}
process.exit(failed === 0 ? 0 : 1);
