// src/core/runs/python.ts is the one place that picks the interpreter, builds the trainer's
// environment (PYTHONPATH) and spawns it; eval and export (CLI and extension) run through it.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { exportRunModel } from '../../src/core/runs/classify';
import { choosePython, findTrainerPath, runTrainerCommand, trainerEnv, TRAINER_MODULE } from '../../src/core/runs/python';
import { repoRoot, tempDir } from '../helpers/paths';

const PYTHON = process.env.PSCL_PYTHON || '/usr/bin/python3';
const tmp = tempDir('pscl-python-');
after(tmp.cleanup);

/** A stand-in `pscl_trainer` whose commands report what they were run with. */
function fakeTrainer(): string {
  const root = path.join(tmp.dir, 'fake-trainer');
  mkdirSync(path.join(root, TRAINER_MODULE), { recursive: true });
  writeFileSync(path.join(root, TRAINER_MODULE, '__init__.py'), '');
  writeFileSync(
    path.join(root, TRAINER_MODULE, '__main__.py'),
    [
      'import json, os, sys, time',
      'cmd = sys.argv[1]',
      'sys.stderr.write("PYTHONPATH=" + os.environ["PYTHONPATH"] + "\\n")',
      'sys.stderr.write("UNBUFFERED=" + os.environ.get("PYTHONUNBUFFERED", "") + "\\n")',
      'if cmd in ("fail", "export"):',
      '    print(json.dumps({"type": "error", "time": time.time(), "kind": "input", "message": "no checkpoint in " + sys.argv[3]}))',
      '    sys.exit(1)',
      'print(json.dumps({"type": "end", "time": time.time(), "status": "finished"}))',
    ].join('\n'),
  );
  return root;
}

describe('the Python side of runs', () => {
  test('the interpreter is the first choice set, else python3', () => {
    assert.equal(choosePython(undefined, '', '  '), 'python3');
    assert.equal(choosePython(undefined, ' /opt/py/bin/python '), '/opt/py/bin/python');
    assert.equal(choosePython('/a/python', '/b/python'), '/a/python');
  });

  test('the environment: the trainer first on PYTHONPATH, then what was there, output unbuffered', () => {
    const env = trainerEnv('/ext/trainer', {}, { PATH: '/bin', PYTHONPATH: '/site' });
    assert.equal(env.PYTHONPATH, ['/ext/trainer', '/site'].join(path.delimiter));
    assert.equal(env.PYTHONUNBUFFERED, '1');
    assert.equal(env.PATH, '/bin');
    assert.equal(trainerEnv('/t', { PYTHONPATH: '/mine' }, { PYTHONPATH: '/site' }).PYTHONPATH, ['/t', '/mine'].join(path.delimiter));
    assert.equal(trainerEnv('/t', {}, {}).PYTHONPATH, '/t');
  });

  test('the bundled trainer is found from the package', () => {
    assert.equal(findTrainerPath(path.join(repoRoot, 'dist'), {}), path.join(repoRoot, 'trainer'));
    assert.equal(findTrainerPath('/', { PSCL_TRAINER_PATH: '/elsewhere' }), '/elsewhere');
  });

  test('a trainer command runs in that environment and reports its last error event', async () => {
    const trainer = fakeTrainer();
    const ok = await runTrainerCommand({ python: PYTHON, trainerPath: trainer, args: ['eval', '--run', '/r'] });
    assert.equal(ok.code, 0);
    assert.equal(ok.lastError, undefined);
    assert.ok(ok.stderrTail.some((l) => l.startsWith(`PYTHONPATH=${trainer}`)), ok.stderrTail.join('\n'));
    assert.ok(ok.stderrTail.includes('UNBUFFERED=1'));
    const failed = await runTrainerCommand({ python: PYTHON, trainerPath: trainer, args: ['fail', '--run', '/r'] });
    assert.equal(failed.code, 1);
    assert.equal(failed.lastError, 'no checkpoint in /r');
  });

  test('export failures carry the trainer\'s message; a missing interpreter names itself and the setting', async () => {
    const trainer = fakeTrainer();
    await assert.rejects(exportRunModel({ python: PYTHON, trainerPath: trainer, runDir: tmp.dir }), new RegExp(`exporting .*model\\.onnx failed \\(exit 1\\): no checkpoint in ${tmp.dir}$`));
    await assert.rejects(exportRunModel({ python: path.join(tmp.dir, 'no-python'), trainerPath: trainer, runDir: tmp.dir }), /cannot start Python ".*no-python": not found\. Set "pscl\.python" \(for pscl: --python or PSCL_PYTHON\)/);
    await assert.rejects(runTrainerCommand({ python: path.join(tmp.dir, 'no-python'), trainerPath: trainer, args: ['eval'] }), /not found/);
  });
});
