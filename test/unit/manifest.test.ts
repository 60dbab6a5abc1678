// The marketplace manifest (package.json) holds together: every command a walkthrough step or a
// welcome view links to is contributed and registered, every step completes on a context key the
// extension sets, its page exists, and the marketplace fields and files are there.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../helpers/paths';

const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
const contributed = new Set<string>(pkg.contributes.commands.map((c: { command: string }) => c.command));
const extensionSource = (() => {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(dir, e.name));
      else if (e.name.endsWith('.ts')) out.push(readFileSync(path.join(dir, e.name), 'utf8'));
    }
  };
  walk(path.join(repoRoot, 'src', 'extension'));
  return out.join('\n');
})();
const links = (text: string) => [...text.matchAll(/\(command:([\w.]+)\)/g)].map((m) => m[1]!);

describe('package.json: first run', () => {
  const [walkthrough] = pkg.contributes.walkthroughs;

  it('the walkthrough has the five steps, each with a page, a command button and a completion key the extension sets', () => {
    assert.equal(`${pkg.publisher}.${pkg.name}#${walkthrough.id}`, 'pscl-studio.pscl-studio#pscl.gettingStarted');
    assert.match(extensionSource, /pscl-studio\.pscl-studio#pscl\.gettingStarted/, 'the extension opens this walkthrough id');
    assert.deepEqual(walkthrough.steps.map((s: { id: string }) => s.id), ['openSample', 'previewMasks', 'suggestPrompts', 'train', 'report']);
    for (const step of walkthrough.steps) {
      assert.ok(existsSync(path.join(repoRoot, step.media.markdown)), `${step.id}: ${step.media.markdown}`);
      const commands = links(step.description);
      assert.equal(commands.length, 1, `${step.id} has one button`);
      assert.ok(contributed.has(commands[0]!), `${step.id}: ${commands[0]} is contributed`);
      assert.equal(step.completionEvents.length, 1);
      const key = /^onContext:(pscl\.walkthrough\.(\w+))$/.exec(step.completionEvents[0])!;
      assert.ok(key, `${step.id} completes on a context key, not on a mere command run`);
      assert.ok(extensionSource.includes(`'${key[1]}'`) || extensionSource.includes(`'${key[2]}'`), `${key[1]} is set by the extension`);
    }
  });

  it('an empty window offers New Project from Dataset and Open Sample; every linked command is registered', () => {
    const empty = pkg.contributes.viewsWelcome.find((v: { view: string; when?: string }) => v.view === 'pscl.taxonomy' && v.when === 'workbenchState == empty');
    assert.ok(empty, 'a welcome view for the empty workspace');
    assert.deepEqual(links(empty.contents).slice(0, 2), ['pscl.newProjectFromDataset', 'pscl.openSample']);
    for (const v of pkg.contributes.viewsWelcome) {
      for (const c of links(v.contents)) {
        assert.ok(contributed.has(c), `${c} is contributed`);
        assert.ok(extensionSource.includes(`'${c}'`), `${c} is registered in src/extension`);
      }
    }
  });
});

describe('package.json: marketplace', () => {
  it('licence, changelog, a 128x128 PNG icon, keywords, repository, bugs and homepage', () => {
    assert.equal(pkg.license, 'MIT');
    assert.match(readFileSync(path.join(repoRoot, 'LICENSE'), 'utf8'), /^MIT License/);
    assert.ok(existsSync(path.join(repoRoot, 'CHANGELOG.md')));
    const icon = readFileSync(path.join(repoRoot, pkg.icon));
    assert.equal(icon.subarray(1, 4).toString(), 'PNG');
    assert.deepEqual([icon.readUInt32BE(16), icon.readUInt32BE(20)], [128, 128]);
    assert.ok(pkg.keywords.length >= 5 && pkg.keywords.length <= 30);
    for (const key of ['repository', 'bugs', 'homepage']) assert.ok(pkg[key], key);
  });

  it('the README opens with screenshots of the views, then what you can do, before the reference', () => {
    const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    const shots = [...readme.matchAll(/!\[[^\]]*\]\((media\/screenshots\/[^)]+)\)/g)].map((m) => m[1]!);
    assert.ok(shots.length >= 5, 'screenshots');
    for (const s of shots) assert.ok(existsSync(path.join(repoRoot, s)), s);
    const first = readme.indexOf('![');
    const can = readme.indexOf('## What you can do');
    const setup = readme.indexOf('## Set-up');
    assert.ok(first > 0 && first < can && can < setup, 'screenshots, then "What you can do", then the rest');
  });
});
