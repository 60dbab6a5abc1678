import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  base64ToBytes,
  bytesToBase64,
  decodeLabelMap,
  decodeProbabilities,
  DEFAULT_PREVIEW_SETTINGS,
  encodeLabelMap,
  encodeProbabilities,
  graphVariantName,
  isHostMessage,
  isPageMessage,
  renderMessage,
  computePartMasks,
} from '../../src/core/masks';

test('typed arrays survive base64 both ways, including large ones and odd lengths', () => {
  const bytes = Uint8Array.from({ length: 100003 }, (_, i) => (i * 7919) & 255);
  assert.deepEqual(base64ToBytes(bytesToBase64(bytes)), bytes);
  // the encoding is standard base64 (Node's Buffer agrees)
  assert.equal(bytesToBase64(Uint8Array.of(1, 2, 3, 250)), Buffer.from([1, 2, 3, 250]).toString('base64'));
  const probs = Float32Array.of(0.25, 0.75, 1e-8, 1 - 1e-7, 0.5, 0.5);
  const wire = encodeProbabilities(probs.subarray(2), 1, 2, 2);
  assert.deepEqual(Array.from(decodeProbabilities(wire)), Array.from(probs.subarray(2)));
  const lm = { data: Uint8Array.of(0, 1, 2, 2, 1, 0), width: 3, height: 2, numParts: 2 };
  assert.deepEqual(decodeLabelMap(encodeLabelMap(lm)), lm);
  assert.throws(() => decodeLabelMap({ ...encodeLabelMap(lm), width: 4 }), /6 bytes, expected 4x2/);
});

test('variant names for the graph: presets by name, combinations of switches joined', () => {
  const s = DEFAULT_PREVIEW_SETTINGS;
  assert.equal(graphVariantName(s), 'clearclip');
  assert.equal(graphVariantName({ variant: 'sclip', switches: s.switches }), 'sclip');
  assert.equal(graphVariantName({ variant: 'custom', switches: { noResidual: true, noFfn: false, qqAttention: true } }), 'attn=qq,residual=off,ffn=on');
  assert.equal(graphVariantName({ variant: 'custom', switches: { noResidual: false, noFfn: true, qqAttention: false } }), 'attn=qk,residual=on,ffn=off');
  assert.equal(graphVariantName({ variant: 'custom', switches: { noResidual: false, noFfn: false, qqAttention: false } }), 'vanilla');
  assert.equal(graphVariantName({ variant: 'custom', switches: { noResidual: true, noFfn: true, qqAttention: true } }), 'clearclip');
});

test('messages are checked on arrival: good ones pass, malformed ones are refused', () => {
  const features = { data: Float32Array.of(1, 0, 0, 1), h: 1, w: 2, dim: 2 };
  const result = computePartMasks(features, { data: Float32Array.of(1, 0, 0, 1), n: 2, dim: 2 }, 2, { height: 2, width: 4 });
  const parts = [{ label: 1, name: 'head', prompts: ['head'] }, { label: 2, name: 'wing', prompts: ['wing'] }];
  const msg = renderMessage(result, { uri: 'data:image/png;base64,AA==', width: 4, height: 2 }, parts, DEFAULT_PREVIEW_SETTINGS, { ms: 3 });
  assert.ok(isHostMessage(msg));
  // what the page decodes is what the pipeline computed
  assert.ok(msg.type === 'render');
  assert.deepEqual(decodeLabelMap(msg.payload.labelMap).data, result.labels.data);
  assert.deepEqual(decodeProbabilities(msg.payload.probabilities), result.probabilities);
  assert.equal(msg.payload.probabilities.n, 2);
  const bad = JSON.parse(JSON.stringify(msg));
  bad.payload.settings.kernel = 4;
  assert.equal(isHostMessage(bad), false);
  assert.equal(isHostMessage({ type: 'render' }), false);
  assert.equal(isHostMessage({ type: 'nope' }), false);
  assert.equal(isHostMessage(null), false);
  assert.ok(isHostMessage({ type: 'busy', busy: true }));
  assert.ok(isPageMessage({ type: 'settingsChanged', settings: DEFAULT_PREVIEW_SETTINGS }));
  assert.equal(isPageMessage({ type: 'settingsChanged', settings: { ...DEFAULT_PREVIEW_SETTINGS, threshold: 2 } }), false);
  assert.ok(isPageMessage({ type: 'openGridItem', key: 'a' }));
  assert.equal(isPageMessage({ type: 'openGridItem' }), false);
});

test('every preview variant setting names a variant the CLIP core builds', async () => {
  const { parseVariant } = await import('../../src/core/clip/graph/variants');
  for (const variant of ['vanilla', 'maskclip', 'sclip', 'clearclip'] as const) {
    assert.doesNotThrow(() => parseVariant(graphVariantName({ variant, switches: { noResidual: false, noFfn: false, qqAttention: false } })));
  }
  for (let bits = 0; bits < 8; bits++) {
    const switches = { noResidual: !!(bits & 1), noFfn: !!(bits & 2), qqAttention: !!(bits & 4) };
    const v = parseVariant(graphVariantName({ variant: 'custom', switches }));
    assert.deepEqual(v, { attention: switches.qqAttention ? 'qq' : 'qk', residual: !switches.noResidual, ffn: !switches.noFfn });
  }
});
