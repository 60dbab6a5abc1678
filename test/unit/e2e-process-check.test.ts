// The Restricted Mode check of the E2E suite must catch a process the extension starts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
// @ts-expect-error plain ESM helper without types
import { foreignExtensionHostChildren } from '../e2e/codeServer.mjs';

const CS = '/opt/cs/node_modules/code-server';
const base = [
  { pid: 10, ppid: 1, cmd: `/usr/bin/node ${CS}/out/node/entry.js --bind-addr 127.0.0.1:1` },
  { pid: 11, ppid: 10, cmd: `/usr/bin/node ${CS}/lib/vscode/out/bootstrap-fork --type=extensionHost --transformURIs` },
  { pid: 12, ppid: 11, cmd: `/usr/bin/node ${CS}/lib/vscode/extensions/json-language-features/server/dist/node/jsonServerMain --node-ipc --clientProcessId=11` },
  { pid: 13, ppid: 10, cmd: `/usr/bin/node ${CS}/lib/vscode/out/bootstrap-fork --type=fileWatcher` },
];

test('code-server\'s own helpers below the extension host are allowed', () => {
  const vscodeOwn = [
    { pid: 14, ppid: 11, cmd: `${CS}/lib/vscode/node_modules/@vscode/ripgrep/bin/rg --files --hidden -g **/*.pscl.json` },
    { pid: 15, ppid: 11, cmd: '/bin/sh -c ps -F -A -l | grep root' },
    { pid: 16, ppid: 15, cmd: 'ps -F -A -l' },
    { pid: 17, ppid: 15, cmd: '' },
    { pid: 18, ppid: 11, cmd: '' },
  ];
  assert.deepEqual(foreignExtensionHostChildren([...base, ...vscodeOwn], CS), { hosts: 1, foreign: [] });
});

test('a backend or trainer started by the extension is reported, also as a grandchild', () => {
  const backend = { pid: 20, ppid: 11, cmd: `/usr/bin/node /tmp/ext/pscl-studio-0.1.0/dist/backend.js --data ${CS}/x` };
  const python = { pid: 21, ppid: 20, cmd: '/usr/bin/python3 -m trainer.train --config run.json' };
  const { foreign } = foreignExtensionHostChildren([...base, backend, python], CS);
  assert.deepEqual(foreign.map((p: { pid: number }) => p.pid), [20, 21]);
  const shell = { pid: 22, ppid: 11, cmd: '/bin/sh -c python3 train.py' };
  assert.deepEqual(foreignExtensionHostChildren([...base, shell], CS).foreign.map((p: { pid: number }) => p.pid), [22], 'any other shell is foreign');
});
