// Starting code-server (a real VS Code 1.100) with the packaged extension on a copy of a sample
// workspace, and stopping it with its whole process group. Used by the E2E suite and the demo.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const codeServerBin = path.join(root, '.e2e', 'tools', 'node_modules', '.bin', 'code-server');
export const chromiumPath = process.env.PSCL_CHROMIUM || '/usr/bin/chromium';

export function codeServerInstalled() {
  return existsSync(codeServerBin) && existsSync(path.join(root, '.e2e', 'tools', '.installed'));
}

/** Builds this platform's VSIX with the project's own packaging (what ships is what is tested). */
export function buildVsix() {
  const target = `${process.platform}-${process.arch}`;
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'package.mjs'), '--target', target, '--out', 'out/e2e/pscl-studio.vsix'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`packaging failed:\n${r.stdout}\n${r.stderr}`);
  const summary = JSON.parse(r.stdout.trim().split('\n').pop());
  return { vsix: path.join(root, summary.vsix), bytes: summary.bytes, files: summary.files, target };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts code-server on loopback on a copy of `sample` with the VSIX installed in a fresh
 * extensions dir. `trusted: false` turns workspace trust on and leaves the folder untrusted
 * (Restricted Mode). Without `sample` the window opens empty (no folder). `settings` are added to
 * the user settings. Returns what a test needs, and stop() which kills the process group.
 */
export async function startCodeServer({ vsix, sample, trusted = true, log = () => {}, settings = {} }) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'pscl-e2e-'));
  const workspace = path.join(tmp, 'workspace');
  const userData = path.join(tmp, 'user-data');
  const extensions = path.join(tmp, 'extensions');
  if (sample) cpSync(sample, workspace, { recursive: true });
  mkdirSync(path.join(userData, 'User'), { recursive: true });
  writeFileSync(
    path.join(userData, 'User', 'settings.json'),
    JSON.stringify(
      {
        'security.workspace.trust.enabled': !trusted,
        'security.workspace.trust.startupPrompt': 'never',
        'security.workspace.trust.banner': 'always',
        'workbench.startupEditor': 'none',
        'pscl.clip.model': 'demo', // the embedded demo model: no download
        'workbench.tips.enabled': false,
        'extensions.autoCheckUpdates': false,
        'extensions.autoUpdate': false,
        'telemetry.telemetryLevel': 'off',
        'update.mode': 'none',
        'window.restoreWindows': 'none',
        // Otherwise the extension host itself runs `sh -c ls -l /proc/*/fd/* | grep socket:` every
        // few seconds to find ports to forward, which the Restricted Mode process check would see.
        'remote.autoForwardPorts': false,
        'remote.autoForwardPortsSource': 'output',
        // The extension opens its walkthrough once per profile; the checks that are not about it
        // turn that off (VS Code's own setting for walkthroughs opening by themselves).
        'workbench.welcomePage.walkthroughs.openOnInstall': false,
        ...settings,
      },
      null,
      2,
    ),
  );
  // The same for the server side (remote settings).
  mkdirSync(path.join(userData, 'Machine'), { recursive: true });
  writeFileSync(path.join(userData, 'Machine', 'settings.json'), JSON.stringify({ 'remote.autoForwardPorts': false, 'remote.autoForwardPortsSource': 'output' }));
  const config = path.join(tmp, 'config.yaml');
  writeFileSync(config, 'auth: none\ncert: false\n');
  const common = ['--config', config, '--user-data-dir', userData, '--extensions-dir', extensions];
  const inst = spawnSync(codeServerBin, [...common, '--install-extension', vsix], { encoding: 'utf8' });
  if (inst.status !== 0 || !/successfully installed/i.test(inst.stdout + inst.stderr)) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(`installing ${vsix} into code-server failed:\n${inst.stdout}\n${inst.stderr}`);
  }
  const port = await freePort();
  const args = [
    ...common,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-getting-started-override',
    '--ignore-last-opened',
    ...(trusted ? ['--disable-workspace-trust'] : []),
    ...(sample ? [workspace] : []),
  ];
  // detached: a new session and process group (setsid), so stop() reaches every helper process.
  const child = spawn(codeServerBin, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  child.stdout.on('data', (d) => output.push(String(d)));
  child.stderr.on('data', (d) => output.push(String(d)));
  const pgid = child.pid;
  let stopped = false;
  const stop = async ({ keep = false } = {}) => {
    if (stopped) return;
    stopped = true;
    for (const [sig, wait] of [['SIGTERM', 3000], ['SIGKILL', 1000]]) {
      try {
        process.kill(-pgid, sig);
      } catch {
        break; // the group is gone
      }
      const until = Date.now() + wait;
      while (Date.now() < until && groupAlive(pgid)) await sleep(100);
      if (!groupAlive(pgid)) break;
    }
    if (!keep) rmSync(tmp, { recursive: true, force: true });
  };
  const url = sample ? `http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}` : `http://127.0.0.1:${port}/`;
  const until = Date.now() + 30000;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > until || child.exitCode !== null) {
      await stop();
      throw new Error(`code-server did not start:\n${output.join('')}`);
    }
    await sleep(200);
  }
  log(`code-server on ${url} (pgid ${pgid}, ${trusted ? 'trusted' : 'Restricted Mode'})`);
  return { url, port, pgid, workspace, userData, extensions, tmp, output, stop };
}

function groupAlive(pgid) {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Every process of a session (setsid) as {pid, ppid, cmd}, read from /proc. */
export function sessionProcesses(sid) {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // fields: state ppid pgrp session ...
      if (Number(fields[3]) !== sid) continue;
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      out.push({ pid: Number(name), ppid: Number(fields[1]), state: fields[0], cmd });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/**
 * Processes started below the extension host that VS Code itself does not start. VS Code's own:
 * programs and scripts inside code-server's install (built-in language servers, ripgrep for
 * findFiles), and the shell pipelines its port-forwarding finder runs; a process below one of
 * those counts as VS Code's too. Pure, so it is unit-tested on synthetic process lists.
 */
export function foreignExtensionHostChildren(processes, codeServerDir) {
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  const hosts = processes.filter((p) => /--type=extensionHost/.test(p.cmd));
  const hostPids = new Set(hosts.map((h) => h.pid));
  const foreign = [];
  for (const p of processes) {
    // An exited (zombie) or just-forked process shows no command line: nothing to judge yet; the
    // sampler sees it again once it runs something.
    if (hostPids.has(p.pid) || p.cmd === '') continue;
    // Walk up to the extension host; remember whether a VS Code process lies on the way.
    let own = false;
    let underHost = false;
    for (let q = p, guard = 0; q && guard < 64; q = byPid.get(q.ppid), guard++) {
      if (hostPids.has(q.pid)) {
        underHost = true;
        break;
      }
      if (isVsCodeOwn(q.cmd, codeServerDir)) own = true;
    }
    if (underHost && !own) foreign.push(p);
  }
  return { hosts: hosts.length, foreign };
}

const PORT_FINDER = [/^\/bin\/sh -c ls -l \/proc\/\[0-9\]\*\/fd\/\[0-9\]\* \| grep socket:$/, /^\/bin\/sh -c ps -F -A -l \| grep root$/];

function isVsCodeOwn(cmd, codeServerDir) {
  if (PORT_FINDER.some((re) => re.test(cmd))) return true;
  const [program, ...args] = cmd.split(' ');
  if (program.startsWith(codeServerDir + '/')) return true;
  // `node <code-server>/lib/vscode/extensions/<builtin>/.../jsonServerMain --node-ipc`: every path
  // argument (the script, with or without .js) lies inside code-server's install.
  const paths = args.filter((a) => a.startsWith('/'));
  return /(^|\/)node$/.test(program) && paths.length > 0 && paths.every((a) => a.startsWith(codeServerDir + '/'));
}
