// `npm run demo`: the main job on the bundled sample. First through the CLI as a user would run
// it (import the tiny CUB-format dataset, validate the project file, print its summary, part
// masks of one image and the training cache with the embedded demo model), then the
// extension itself: the packaged VSIX in code-server (a real VS Code) on a copy of the sample
// workspace; prints the URL and runs until Ctrl-C. `--check` (CI) opens it headless, checks the
// Taxonomy view shows the sample, saves out/demo/taxonomy.png and exits.
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
// The demo model: part masks for one image, then the training cache for every image.
const demoOut = path.join(repo, 'out', 'demo');
pscl('masks', '--project', path.join(sample, 'tiny-birds.pscl.json'), '--image', path.join(sample, 'CUB_tiny', 'images', '001.Red_crowned_Finch', 'Red_crowned_Finch_0001.jpg'), '--out', demoOut);
pscl('cache', 'build', '--project', path.join(sample, 'tiny-birds.pscl.json'), '--out', path.join(repo, '.cache', 'demo', 'training-cache'));

// ---------------------------------------------------------------------------------------------
// The extension in code-server
const { buildVsix, chromiumPath, codeServerInstalled, startCodeServer } = await import('../test/e2e/codeServer.mjs');
const check = process.argv.includes('--check');
if (!codeServerInstalled()) {
  console.log('\ndemo: installing code-server 4.100.3 and chromium once (scripts/e2e-setup.sh, about 2 minutes)');
  const setup = spawnSync('bash', [path.join(repo, 'scripts', 'e2e-setup.sh')], { stdio: 'inherit', cwd: repo });
  if (setup.status !== 0 || !codeServerInstalled()) {
    console.log('demo: the set-up failed (see above), so the extension part is skipped; run scripts/e2e-setup.sh to retry.');
    process.exit(check ? 1 : 0);
  }
}
console.log('\n$ npm run package   (the VSIX that the demo installs)');
const { vsix, bytes } = buildVsix();
console.log(`${path.relative(repo, vsix)}: ${(bytes / 1048576).toFixed(2)} MB`);
// The VSIX has no room for the trained demo CLIP (its `demo` is a random stand-in): point the
// preview at this checkout's models/demo-clip instead, so its masks find the sample's parts.
const server = await startCodeServer({ vsix, sample, trusted: true, settings: { 'pscl.clip.model': path.join(repo, 'models', 'demo-clip') } });
let stopping = false;
const stop = async (code) => {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(code);
};
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

if (check) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  let ok = false;
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(server.url);
    await page.waitForSelector('.monaco-workbench', { timeout: 60000 });
    await page.locator('.activitybar').getByRole('tab', { name: /PSCL Studio/ }).first().click();
    await page.getByRole('treeitem', { name: /Tiny Birds/ }).first().waitFor({ timeout: 30000 });
    const bird = page.getByRole('treeitem', { name: /^bird/ }).first();
    await bird.click();
    await page.getByRole('treeitem', { name: /Passeriformes/ }).first().waitFor({ timeout: 10000 });
    mkdirSync(path.join(repo, 'out', 'demo'), { recursive: true });
    await page.screenshot({ path: path.join(repo, 'out', 'demo', 'taxonomy.png') });
    console.log('demo --check: the Taxonomy view shows Tiny Birds (out/demo/taxonomy.png)');
    ok = true;
  } catch (err) {
    console.error(`demo --check failed: ${err?.message ?? err}`);
  } finally {
    await browser.close();
  }
  await stop(ok ? 0 : 1);
} else {
  console.log(`\nPSCL Studio is running in code-server (VS Code ${'1.100'}) on a copy of samples/tiny-birds:`);
  console.log(`\n    ${server.url}\n`);
  console.log(`Open it in a browser (from another machine: ssh -L ${server.port}:127.0.0.1:${server.port} ...), then the PSCL Studio icon in the activity bar.`);
  console.log(`The workspace copy is ${server.workspace}; it is deleted on exit. Ctrl-C to stop.`);
  await new Promise(() => {});
}
