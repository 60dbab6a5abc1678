// `npm run demo`: the main job on the bundled sample, through the CLI as a user would run it:
// import the tiny CUB-format dataset, validate the project file, print its summary.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const sample = path.join(repo, 'samples', 'tiny-birds');
const out = path.join(repo, '.cache', 'demo', 'tiny-birds.pscl.json');
mkdirSync(path.dirname(out), { recursive: true });

function pscl(...args) {
  console.log(`\n$ pscl ${args.map((a) => (a.startsWith(repo) ? path.relative(repo, a) : a)).join(' ')}`);
  const r = spawnSync(process.execPath, [path.join(repo, 'bin', 'pscl.js'), ...args], { stdio: 'inherit', cwd: repo });
  if (r.status !== 0) {
    console.error(`demo: 'pscl ${args[0]}' exited with ${r.status}`);
    process.exit(r.status ?? 1);
  }
}

pscl('import', '--format', 'cub', '--root', path.join(sample, 'CUB_tiny'), '--hierarchy', path.join(sample, 'hierarchy', 'cub_tiny.parent-child.txt'), '--name', 'Tiny Birds', '--out', out, '--force');
pscl('validate', out, path.join(sample, 'tiny-birds.pscl.json'));
pscl('info', path.join(sample, 'tiny-birds.pscl.json'));
