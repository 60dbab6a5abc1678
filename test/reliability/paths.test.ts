// Defect 9: paths escaped their roots. '../' and absolute entries in dataset list files were
// followed outside the dataset (/etc/passwd was opened), `cache verify` read a manifest mask entry
// '../../etc/passwd', and the mask preview's page could name any file in `openGridItem` for the
// host to decode and send back. Now every such path is resolved and checked for containment
// (symbolic links included unless PSCL_DATASET_LINKS_OUTSIDE / pscl.datasets.allowLinksOutside
// allows them), and a webview message may only name an image the host offered.
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildCache, clipEncoders, verifyCache, type CacheEncoders } from '../../src/core/cache';
import { ClipModel } from '../../src/core/clip/model';
import { datasetFile, importCub, importDataset } from '../../src/core/taxonomy/importers';
import { writeCarsFixture, writeCubFixture } from '../fixtures/datasets';
import { buildDist } from '../helpers/build';
import { copySample, tinyModel } from '../helpers/cacheFixture';
import { repoRoot, tempDir } from '../helpers/paths';
import { pscl, STACK } from './helpers';
import { installVscodeStub, logChannel, Uri } from './vscodeStub';

const tmp = tempDir('pscl-rel-paths-');
let model: ClipModel;
let encoders: CacheEncoders;
before(async () => {
  buildDist();
  model = await ClipModel.load(tinyModel(path.join(tmp.dir, 'tiny')), { provider: 'cpu', cacheDir: path.join(tmp.dir, 'graphs') });
  encoders = clipEncoders(model);
});
after(async () => {
  await model?.dispose();
  tmp.cleanup();
});

const secret = path.join(tmp.dir, 'outside-secret.txt');

describe('reliability: paths that leave their roots (defect 9)', () => {
  it("'../' and absolute entries in CUB images.txt are FILE:LINE errors of import", async () => {
    writeFileSync(secret, 'not an image');
    for (const [name, entry] of [
      ['dotdot', '../outside-secret.txt'],
      ['absolute', secret],
    ]) {
      const root = path.join(tmp.dir, `cub-${name}`);
      writeCubFixture(root);
      appendFileSync(path.join(root, 'images.txt'), `7 ${entry}\n`);
      appendFileSync(path.join(root, 'image_class_labels.txt'), '7 1\n');
      const lineNo = readFileSync(path.join(root, 'images.txt'), 'utf8').trim().split('\n').length;
      await assert.rejects(importCub(root), new RegExp(`images\\.txt:${lineNo}: image path '${entry.replace(/[.]/g, '\\.')}' (climbs out of the dataset folder|is absolute)`));
      const r = await pscl(['import', '--format', 'cub', '--root', root, '--out', path.join(tmp.dir, `${name}.pscl.json`)], { limitMs: 15_000 });
      assert.equal(r.code, 1, r.out);
      assert.match(r.err, new RegExp(`^pscl: import: .*images\\.txt:${lineNo}: image path`));
      assert.doesNotMatch(r.err, STACK);
    }
  });

  it('the same holds for every importer (Stanford Cars annotations naming ../ and absolute files)', async () => {
    for (const entry of ['../../outside-secret.txt', secret]) {
      const root = path.join(tmp.dir, `cars-${entry.length}`);
      writeCarsFixture(root, Array.from({ length: 196 }, (_, i) => `Make${i} Model Sedan 2012`));
      appendFileSync(path.join(root, 'anno_train.csv'), `${entry},1,1,2,2,1\n`);
      await assert.rejects(importDataset('cars', root), /the image list names '.*outside-secret\.txt' .*(climbs out of the dataset folder|is absolute)/);
    }
  });

  it('an image that is a symbolic link out of the dataset is refused by the cache build (and allowed by the setting)', async () => {
    const dir = path.join(tmp.dir, 'sample-link');
    const project = copySample(dir, 4);
    const images = readFileSync(path.join(dir, 'CUB_tiny', 'images.txt'), 'utf8').trim().split('\n');
    const rel = `images/${images[0].split(' ')[1]}`;
    const inside = path.join(dir, 'CUB_tiny', rel);
    const outside = path.join(tmp.dir, 'outside.jpg');
    copyFileSync(inside, outside);
    rmSync(inside);
    symlinkSync(outside, inside);
    const r = await buildCache({ projectFile: project, outDir: path.join(dir, 'cache'), encoders, batchSize: 4, settings: { inputSize: 32 } });
    assert.deepEqual([r.images.total, r.images.errors], [4, 1]);
    const entry = r.manifest.images.find((i) => i.path === rel)!;
    assert.equal(entry.status, 'error');
    assert.match(entry.error!, /symbolic link .* outside the dataset folder/);
    assert.throws(() => datasetFile(path.join(dir, 'CUB_tiny'), rel), /is a symbolic link to .*outside\.jpg, outside the dataset folder.*PSCL_DATASET_LINKS_OUTSIDE=1/);
    process.env.PSCL_DATASET_LINKS_OUTSIDE = '1';
    try {
      assert.equal(datasetFile(path.join(dir, 'CUB_tiny'), rel), inside);
      const again = await buildCache({ projectFile: project, outDir: path.join(dir, 'cache2'), encoders, batchSize: 4, settings: { inputSize: 32 } });
      assert.equal(again.images.errors, 0);
    } finally {
      delete process.env.PSCL_DATASET_LINKS_OUTSIDE;
    }
  });

  it("cache verify never reads a manifest mask entry outside the cache ('../x', '../../etc/passwd')", async () => {
    const dir = path.join(tmp.dir, 'sample-verify');
    const project = copySample(dir, 3);
    const out = path.join(dir, 'cache');
    const r = await buildCache({ projectFile: project, outDir: out, encoders, batchSize: 4, settings: { inputSize: 32 } });
    assert.deepEqual((await verifyCache(out)).problems, []);
    // a copy of a real mask outside the cache, with the right hash: reading it would pass unnoticed
    const m = JSON.parse(readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    copyFileSync(path.join(out, m.images[0].mask), path.join(dir, 'copied-mask.png'));
    m.images[0].mask = '../copied-mask.png';
    m.images[1].mask = '../../etc/passwd';
    m.images[2].path = '../../etc/passwd';
    writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(m));
    const report = await verifyCache(out);
    assert.equal(r.images.errors, 0);
    assert.ok(report.problems.some((p) => /mask "\.\.\/copied-mask\.png" is not a file name inside/.test(p)), report.problems.join('\n'));
    assert.ok(report.problems.some((p) => /mask "\.\.\/\.\.\/etc\/passwd" is not a file name inside/.test(p)), report.problems.join('\n'));
    assert.ok(report.problems.some((p) => /\(\.\.\/\.\.\/etc\/passwd\): the image path climbs out/.test(p)), report.problems.join('\n'));
    const cli = await pscl(['cache', 'verify', out], { limitMs: 30_000 });
    assert.equal(cli.code, 1);
    assert.doesNotMatch(cli.out + cli.err, /root:x:0:0/);
  });

  it("the mask preview opens only a grid image it offered, whatever the page's message names", async () => {
    installVscodeStub();
    const { PreviewPanel } = await import('../../src/extension/preview/panel');
    const offered = path.join(tmp.dir, 'offered.jpg');
    const requests: { method: string; params: { image?: string } }[] = [];
    const computeResult = {
      coarse: 'bird',
      image: { dataUri: 'data:,', width: 1, height: 1 },
      labelMap: {},
      probabilities: {},
      parts: [],
      stats: [],
      timing: { ms: 1, features: 0, text: 0, masks: 0 },
      modelId: 'demo',
    };
    const backend = {
      info: {},
      request: async (type: { method: string }, params: { image?: string }) => {
        requests.push({ method: type.method, params });
        if (type.method === 'masks/grid') return { coarse: 'bird', items: [{ key: offered, imageUri: 'data:,', imageWidth: 1, imageHeight: 1, className: 'x', labelMap: {}, stats: [] }], parts: [], timing: { ms: 1 }, modelId: 'demo' };
        return computeResult;
      },
    };
    let handler: (m: unknown) => unknown = () => {};
    const posted: { type: string }[] = [];
    const webviewPanel = {
      webview: {
        options: {},
        html: '',
        cspSource: 'vscode-resource:',
        asWebviewUri: (u: unknown) => u,
        onDidReceiveMessage: (fn: (m: unknown) => unknown) => ((handler = fn), { dispose() {} }),
        postMessage: async (m: { type: string }) => void posted.push(m),
      },
      onDidDispose: () => ({ dispose() {} }),
      reveal() {},
      dispose() {},
      title: '',
      iconPath: undefined,
    };
    const log = logChannel();
    const ctx = {
      extension: { extensionUri: Uri.file(repoRoot) },
      config: { previewDefaults: { variant: 'clearclip', kernel: 3, size: 448, threshold: 0 }, clipModel: 'demo', clipDevice: 'cpu' },
      backend: { get: () => backend },
      projects: { snapshot: () => undefined },
      log,
    };
    const start = path.join(tmp.dir, 'start.jpg');
    const panel = new PreviewPanel(ctx as never, webviewPanel as never, { project: Uri.file(path.join(tmp.dir, 'p.pscl.json')).toString(), image: start }, async () => 'demo');
    const settle = () => new Promise((r) => setTimeout(r, 50));
    await handler({ type: 'openGridItem', key: '/etc/passwd' });
    await settle();
    assert.deepEqual(requests.filter((r) => r.params.image === '/etc/passwd'), [], 'a name the host never offered is not opened');
    assert.ok(log.lines.some((l) => /ignored a request to open "\/etc\/passwd"/.test(l)), log.lines.join('\n'));
    await handler({ type: 'requestGrid' });
    await settle();
    await handler({ type: 'openGridItem', key: offered });
    await settle();
    assert.equal(requests.filter((r) => r.method === 'masks/compute' && r.params.image === offered).length, 1, 'an offered image opens');
    panel.dispose();
  });
});
