// Defect 12: a workspace could redirect the API key. In a trusted workspace the folder's
// .vscode/settings.json may set pscl.llm.baseUrl, and the key from the secret storage was then
// sent there. Now the key is bound to the origin it was entered for, and going anywhere else
// needs the user's yes in a dialog naming both origins; pscl.python, pscl.clip.model and
// pscl.llm.baseUrl are restricted configurations (ignored from an untrusted workspace). The real
// window is driven by test/e2e/checks/llm.mjs; here the command runs on a stub of the API.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { copySample } from '../helpers/cacheFixture';
import { startFakeLlm, type FakeLlmServer } from '../helpers/fakeLlmServer';
import { repoRoot, tempDir } from '../helpers/paths';
import { parseProject } from '../../src/core/taxonomy/project';
import { installVscodeStub, logChannel, stub, Uri } from './vscodeStub';

const KEY = 'sk-origin-5a4b3c2d1e0f99887766554433221100';
const tmp = tempDir('pscl-rel-key-');
let home: FakeLlmServer;
let other: FakeLlmServer;
let file: string;

before(async () => {
  installVscodeStub();
  home = await startFakeLlm({ repeat: { content: 'not json at all' } });
  other = await startFakeLlm({ repeat: { content: 'not json at all' } });
  file = copySample(path.join(tmp.dir, 'sample'));
});
beforeEach(() => {
  home.script();
  other.script();
  stub.messages.length = 0;
});
after(async () => {
  await home.close();
  await other.close();
  tmp.cleanup();
});

/** The extension's context as the suggest commands use it, with the key entered for `keyFor`. */
function context(baseUrl: string, source: 'workspace' | 'user') {
  const secrets = new Map<string, string>();
  const text = readFileSync(file, 'utf8');
  const ctx = {
    extension: {
      secrets: { get: async (k: string) => secrets.get(k), store: async (k: string, v: string) => void secrets.set(k, v), delete: async (k: string) => void secrets.delete(k) },
      globalStorageUri: Uri.file(path.join(tmp.dir, 'storage')),
    },
    config: { llmSettings: () => ({ baseUrl, model: 'fake-model', timeoutMs: 10_000, maxRetries: 0 }), llmBaseUrlSource: source },
    log: logChannel(),
  };
  const node = { kind: 'project', snapshot: { key: Uri.file(file).toString(), relativePath: 'tiny-birds.pscl.json', parsed: parseProject(text, file), diagnostics: [] } };
  return { ctx, node, secrets };
}

describe('reliability: the API key and the server it goes to (defect 12)', () => {
  it('pscl.python, pscl.clip.model and pscl.llm.baseUrl are restricted configurations', () => {
    const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
    const restricted: string[] = manifest.capabilities.untrustedWorkspaces.restrictedConfigurations;
    for (const key of ['pscl.python', 'pscl.clip.model', 'pscl.llm.baseUrl']) assert.ok(restricted.includes(key), key);
  });

  it('the key goes without a question to the origin it was entered for', async () => {
    const { suggestIntermediate } = await import('../../src/extension/llm/commands');
    const { ctx, node, secrets } = context(home.url, 'user');
    secrets.set('pscl.llm.apiKey', KEY).set('pscl.llm.apiKeyOrigin', new URL(home.url).origin);
    stub.answer = () => assert.fail('no question for the key\'s own server');
    await suggestIntermediate(ctx as never)(node);
    assert.equal(home.requests.length, 1);
    assert.equal(home.requests[0].headers.authorization, `Bearer ${KEY}`);
  });

  it('a workspace base URL pointing elsewhere: a dialog naming both origins; no key unless the user agrees', async () => {
    const { suggestIntermediate } = await import('../../src/extension/llm/commands');
    const { ctx, node, secrets } = context(other.url, 'workspace');
    secrets.set('pscl.llm.apiKey', KEY).set('pscl.llm.apiKeyOrigin', new URL(home.url).origin);
    const run = async (choice: string | undefined) => {
      let asked: { text: string; buttons: string[] } | undefined;
      stub.answer = (text, buttons) => ((asked = { text, buttons }), choice);
      await suggestIntermediate(ctx as never)(node);
      return asked;
    };
    // dismissed: nothing is sent at all
    const asked = await run(undefined);
    assert.ok(asked, 'the user was asked');
    assert.ok(asked.text.includes(new URL(other.url).origin) && asked.text.includes(new URL(home.url).origin), asked.text);
    assert.match(stub.messages.at(-1)!.detail ?? '', /set by this workspace's settings/);
    assert.deepEqual(asked.buttons, ['Continue Without Key', 'Send the Key'], 'the safe choice first (Enter)');
    assert.equal(other.requests.length, 0);
    // without the key: the request goes, the key does not
    await run('Continue Without Key');
    assert.equal(other.requests.length, 1);
    assert.ok(!JSON.stringify(other.requests[0].headers).includes(KEY.slice(3, 20)), 'no key in the request');
    // agreed: the key goes
    await run('Send the Key');
    assert.equal(other.requests.length, 2);
    assert.equal(other.requests[1].headers.authorization, `Bearer ${KEY}`);
    assert.equal(home.requests.length, 0);
    assert.ok(!ctx.log.lines.join('\n').includes(KEY.slice(3, 20)), 'the key is not logged');
  });
});
