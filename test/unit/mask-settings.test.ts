// src/core/masks/settings.ts is the one home of the mask defaults and ranges: the preview, the
// CLI, the training cache and the extension's settings schema all agree with it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { CacheError, defaultSettings, maskSettingsOf } from '../../src/core/cache';
import { partsCategory } from '../../src/core/masks/session';
import {
  DEFAULT_PREVIEW_SETTINGS,
  isPreviewSettings,
  MASK_DEFAULTS,
  MASK_LIMITS,
  maskSettingProblem,
  maskSettings,
  MaskSettingsError,
  previewMaskSettings,
  previewSettingsFrom,
} from '../../src/core/masks/settings';
import { parseProject } from '../../src/core/taxonomy/project';
import { buildDist } from '../helpers/build';
import { repoRoot } from '../helpers/paths';

const sample = path.join(repoRoot, 'samples', 'tiny-birds', 'tiny-birds.pscl.json');
const image = path.join(repoRoot, 'samples', 'tiny-birds', 'CUB_tiny', 'images', '001.Red_crowned_Finch', 'Red_crowned_Finch_0001.jpg');

describe('mask settings', () => {
  it('the defaults are ClearCLIP, 448 px, a 3x3 closing, no threshold; the cache and the preview start from them', () => {
    assert.deepEqual({ ...MASK_DEFAULTS }, { variant: 'clearclip', size: 448, slidingWindow: false, kernel: 3, threshold: 0, logitScale: 50 });
    assert.deepEqual(previewMaskSettings(DEFAULT_PREVIEW_SETTINGS), { ...MASK_DEFAULTS });
    const cache = defaultSettings();
    assert.deepEqual({ ...maskSettingsOf(cache), variant: MASK_DEFAULTS.variant }, { ...MASK_DEFAULTS });
    assert.equal(cache.inputSize, MASK_DEFAULTS.size);
  });

  it("the extension's settings schema declares the same defaults and ranges", () => {
    const props = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).contributes.configuration.properties;
    assert.equal(props['pscl.preview.variant'].default, MASK_DEFAULTS.variant);
    assert.equal(props['pscl.preview.kernel'].default, MASK_DEFAULTS.kernel);
    assert.deepEqual([props['pscl.preview.kernel'].minimum, props['pscl.preview.kernel'].maximum], [MASK_LIMITS.kernel.min, MASK_LIMITS.kernel.max]);
    assert.equal(props['pscl.preview.inputSize'].default, MASK_DEFAULTS.size);
    assert.deepEqual([props['pscl.preview.inputSize'].minimum, props['pscl.preview.inputSize'].maximum], [MASK_LIMITS.size.min, MASK_LIMITS.size.max]);
    assert.equal(props['pscl.preview.threshold'].default, MASK_DEFAULTS.threshold);
    assert.deepEqual([props['pscl.preview.threshold'].minimum, props['pscl.preview.threshold'].maximum], [MASK_LIMITS.threshold.min, MASK_LIMITS.threshold.max]);
  });

  it('one range for the input size (32..4096) everywhere: core, preview wire, new preview, cache', () => {
    // the CLI allowed 16..4096, the extension 32..2048, the cache 1..8192
    for (const [size, ok] of [[16, false], [31, false], [32, true], [2048, true], [4096, true], [4097, false], [448.5, false]] as const) {
      assert.equal(maskSettingProblem('size', size) === undefined, ok, `size ${size}`);
      assert.equal(isPreviewSettings({ ...DEFAULT_PREVIEW_SETTINGS, size }), ok, `wire size ${size}`);
      assert.equal(previewSettingsFrom({ size }).size, ok ? size : MASK_DEFAULTS.size, `new preview size ${size}`);
      if (ok) assert.equal(defaultSettings({ inputSize: size }).inputSize, size);
      else assert.throws(() => defaultSettings({ inputSize: size }), (e: Error) => e instanceof CacheError && /^inputSize must be an integer from 32 to 4096/.test(e.message));
    }
  });

  it('kernel odd 1..255, threshold 0..1, a known variant; each problem names the setting', () => {
    assert.equal(maskSettingProblem('kernel', 4), 'must be an odd integer from 1 to 255');
    assert.equal(maskSettingProblem('kernel', 257), 'must be an odd integer from 1 to 255');
    assert.equal(maskSettingProblem('kernel', 255), undefined);
    assert.equal(maskSettingProblem('threshold', 1.5), 'must be a probability from 0 to 1');
    assert.throws(() => maskSettings({ kernel: 2 }), (e: Error) => e instanceof MaskSettingsError && e.message === 'kernel must be an odd integer from 1 to 255 (got 2)');
    assert.throws(() => maskSettings({ variant: 'nope' }), /variant 'nope': use one of/);
    assert.deepEqual(maskSettings({ kernel: 5, size: undefined }), { ...MASK_DEFAULTS, kernel: 5 });
    assert.deepEqual(previewSettingsFrom({ variant: 'sclip', kernel: 4, threshold: -1 }), { ...DEFAULT_PREVIEW_SETTINGS, variant: 'sclip', switches: DEFAULT_PREVIEW_SETTINGS.switches });
    assert.deepEqual(previewSettingsFrom({ variant: 'vanilla' }).switches, { noResidual: false, noFfn: false, qqAttention: false });
  });

  it('the coarse category: the asked one, else the first with parts (the others named)', () => {
    const text = readFileSync(sample, 'utf8');
    const project = parseProject(text).project!;
    assert.deepEqual(partsCategory(project), { coarse: 'bird', others: [] });
    assert.throws(() => partsCategory(project, 'car'), /no parts for coarse category 'car' \(parts exist for: bird\)/);
    const two = { ...project, parts: { car: [{ name: 'wheel', prompts: ['wheel'] }], empty: [], ...project.parts } };
    assert.deepEqual(partsCategory(two), { coarse: 'car', others: ['bird'] });
    assert.throws(() => partsCategory({ ...project, parts: { bird: [] } }), /has no parts/);
  });
});

describe('pscl masks checks its settings against the same ranges before loading a model', () => {
  before(() => buildDist());
  const pscl = (...args: string[]) => spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'pscl.js'), 'masks', '--project', sample, '--image', image, '--model', '/no/model', ...args], { encoding: 'utf8' });

  it('--size 16 (accepted before), --kernel 257, an unknown variant', () => {
    const size = pscl('--size', '16');
    assert.equal(size.status, 2);
    assert.match(size.stderr, /masks: --size 16: must be an integer from 32 to 4096/);
    assert.match(pscl('--kernel', '257').stderr, /masks: --kernel 257: must be an odd integer from 1 to 255/);
    const variant = pscl('--variant', 'nope');
    assert.equal(variant.status, 2);
    assert.match(variant.stderr, /masks: variant 'nope': use one of/);
  });
});
