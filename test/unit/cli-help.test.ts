// `pscl --version`, `pscl --help` (one line per command, by topic) and the shell completion
// scripts, run as a user would: the bundled CLI, and bash (zsh when it is installed) sourcing
// what `pscl completion` prints.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildDist } from '../helpers/build';
import { repoRoot, tempDir } from '../helpers/paths';

const tmp = tempDir();
after(tmp.cleanup);
before(() => buildDist());

function pscl(...args: string[]) {
  const r = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'pscl.js'), ...args], { encoding: 'utf8' });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const has = (shell: string) => spawnSync(shell, ['-c', 'true']).status === 0;

describe('pscl --version and --help', () => {
  it('--version prints the package version', () => {
    const r = pscl('--version');
    assert.equal(r.code, 0);
    assert.equal(r.out.trim(), JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version);
  });

  it('--help lists every command file once, with a one-line summary, under a topic heading', () => {
    const r = pscl('--help');
    assert.equal(r.code, 0);
    const files = readdirSync(path.join(repoRoot, 'src', 'cli', 'commands')).map((f) => f.replace(/\.ts$/, ''));
    const lines = r.out.split('\n');
    for (const name of [...files, 'completion']) {
      const rows = lines.filter((l) => new RegExp(`^  ${name} +\\S`).test(l));
      assert.equal(rows.length, 1, `one summary line for '${name}'`);
      const at = lines.indexOf(rows[0]!);
      const heading = lines.slice(0, at).reverse().find((l) => /^\S.*:$/.test(l));
      assert.ok(heading && heading !== 'usage: pscl <command> [options]', `'${name}' sits under a topic heading`);
    }
    for (const topic of ['Project files:', 'LLM suggestions:', 'Part masks and CLIP:', 'Training cache:', 'Runs:', 'Shell:']) assert.ok(lines.includes(topic), topic);
    // No command is its own second line: every summary fits on one line.
    assert.ok(lines.every((l) => l.length <= 100), 'lines fit a terminal');
  });

  it('an unknown command names itself and shows the list; no arguments is a usage error', () => {
    const r = pscl('bogus');
    assert.equal(r.code, 2);
    assert.match(r.err, /unknown command 'bogus'/);
    assert.match(r.err, /Project files:/);
    assert.equal(pscl().code, 2);
  });

  it('completion without a known shell is a usage error', () => {
    const r = pscl('completion', 'fish');
    assert.equal(r.code, 2);
    assert.match(r.err, /say which shell: bash or zsh/);
  });
});

describe('shell completion', () => {
  it('bash: commands, subcommands, options, option values and files', () => {
    const script = path.join(tmp.dir, 'pscl.bash');
    const r = pscl('completion', 'bash');
    assert.equal(r.code, 0);
    writeFileSync(script, r.out);
    writeFileSync(path.join(tmp.dir, 'photo.jpg'), '');
    const cases: Array<[string, string]> = [
      ['pscl imp', 'import'],
      ['pscl cache b', 'build'],
      ['pscl cache v', 'verify'],
      ['pscl suggest p', 'parts'],
      ['pscl import --fo', '--force --format'],
      ['pscl import --format c', 'cub cars'],
      ['pscl clip dense --variant clear', 'clearclip'],
      ['pscl train --device c', 'cpu cuda'],
      ['pscl completion ', 'bash zsh'],
      ['pscl masks --image pho', 'photo.jpg'],
      ['pscl --v', '--version'],
    ];
    const body = cases
      .map(([line]) => `read -ra COMP_WORDS <<< ${JSON.stringify(line)}; ${line.endsWith(' ') ? 'COMP_WORDS+=("");' : ''} COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _pscl; echo "\${COMPREPLY[*]}"`)
      .join('\n');
    const out = spawnSync('bash', ['-c', `source ${JSON.stringify(script)}\n${body}`], { cwd: tmp.dir, encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    const got = out.stdout.trim().split('\n');
    cases.forEach(([line, want], i) => assert.equal(got[i], want, `completing '${line}'`));
  });

  it('zsh: the script parses and registers _pscl for pscl', { skip: has('zsh') ? false : 'zsh is not installed' }, () => {
    const script = path.join(tmp.dir, 'pscl.zsh');
    writeFileSync(script, pscl('completion', 'zsh').out);
    assert.equal(spawnSync('zsh', ['-n', script]).status, 0);
    const r = spawnSync('zsh', ['-c', `autoload -U compinit; compinit -u -d ${tmp.dir}/zcompdump; source ${script}; print -r -- \${_comps[pscl]}; whence -w _pscl`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^_pscl\n_pscl: function/);
  });
});
