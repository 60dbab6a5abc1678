import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseEventLine, type RunEvent } from '../../src/core/runs/events';
import { EventTail } from '../../src/core/runs/tail';
import { foldEvents, formatDuration } from '../../src/core/runs/summary';
import { deriveStatus } from '../../src/core/runs/status';
import { listRuns, readRun, readRunConfig, readLogTail, deleteRun } from '../../src/core/runs/folder';
import { writeLock, type LockState, type RunLock } from '../../src/core/runs/lock';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'pscl-runmodel-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const line = (o: object) => `${JSON.stringify(o)}\n`;

test('event lines: valid, unknown types kept, missing fields and garbage reported', () => {
  assert.deepEqual(parseEventLine('{"type":"progress","time":1,"epoch":0,"step":3,"loss":null}'), {
    ok: true,
    event: { type: 'progress', time: 1, epoch: 0, step: 3, loss: null },
  });
  assert.equal(parseEventLine('{"type":"gpu_stats","time":1,"x":2}').ok, true);
  const r1 = parseEventLine('{"type":"progress","time":1,"epoch":0}');
  assert.equal(r1.ok, false);
  assert.match(!r1.ok ? r1.reason : '', /"step"/);
  const r2 = parseEventLine('{"type":"end","time":1,"status":"exploded"}');
  assert.match(!r2.ok ? r2.reason : '', /"status"/);
  assert.match((parseEventLine('{"type": "start"') as { reason: string }).reason, /not JSON/);
  assert.match((parseEventLine('[1,2]') as { reason: string }).reason, /not a JSON object/);
});

test('the tail reads appended lines, holds a partial last line back and reports corrupt lines', async () => {
  const file = path.join(tmp, 'tail.jsonl');
  writeFileSync(file, line({ type: 'start', time: 10 }) + '{"type":"progress","time":11,"ep');
  const tail = new EventTail(file);
  let c = await tail.read();
  assert.deepEqual(c.events.map((e) => e.type), ['start']);
  const afterFirst = tail.position;
  appendFileSync(file, 'och":0,"step":1}\nnot json at all\n');
  c = await tail.read();
  assert.deepEqual(c.events.map((e) => [e.type, (e as { step?: number }).step]), [['progress', 1]]);
  assert.equal(c.corrupt.length, 1);
  assert.equal(c.corrupt[0].line, 3);
  assert.ok(tail.position > afterFirst);
  // a multi-byte character split across two writes is decoded whole
  const msg = line({ type: 'error', time: 12, message: 'déjà vu — ✓' });
  const bytes = Buffer.from(msg);
  appendFileSync(file, bytes.subarray(0, 40));
  assert.equal((await tail.read()).events.length, 0);
  appendFileSync(file, bytes.subarray(40));
  assert.equal(((await tail.read()).events[0] as { message: string }).message, 'déjà vu — ✓');
  // the file replaced by a shorter one: reset and read from the start
  writeFileSync(file, line({ type: 'start', time: 20 }));
  c = await tail.read();
  assert.equal(c.truncated, true);
  assert.equal(c.events[0].time, 20);
  // a missing file is empty, not an error
  assert.deepEqual(await new EventTail(path.join(tmp, 'none.jsonl')).read(), { events: [], corrupt: [], truncated: false });
});

const lock: RunLock = { pid: 123, pgid: 123, host: os.hostname(), startedAt: 0, command: [] };
const start = (time: number): RunEvent => ({ type: 'start', time, total_steps: 100, epochs: 2, device: 'cpu' });
const progress = (time: number, step: number): RunEvent => ({ type: 'progress', time, epoch: 0, step, loss: 1 / step });

test('status: running while the lock is alive; end event decides; a dead lock means killed', () => {
  const evs = [start(100), progress(110, 10), progress(130, 30)];
  const p = foldEvents(evs);
  assert.equal(p.step, 30);
  assert.equal(p.activeS, 30);
  const alive: LockState = { state: 'alive', lock };
  const running = deriveStatus(p, alive, 140);
  assert.deepEqual(running, { status: 'running', elapsedS: 40 });

  const dead = deriveStatus(p, { state: 'dead', lock }, 500);
  assert.equal(dead.status, 'failed');
  assert.match(dead.reason ?? '', /pid 123.*killed or crashed/);
  assert.equal(dead.elapsedS, 30, 'no time counted after the last event of a dead run');

  const withError = foldEvents([...evs, { type: 'error', time: 131, kind: 'oom', message: 'out of memory: lower batch_size' }]);
  assert.match(deriveStatus(withError, { state: 'dead', lock }).reason ?? '', /^out of memory: lower batch_size/);
  assert.equal(deriveStatus(withError, { state: 'none' }).status, 'failed');

  const finished = foldEvents([...evs, { type: 'end', time: 140, status: 'finished', best_top1: 0.8 }]);
  assert.deepEqual(deriveStatus(finished, { state: 'none' }), { status: 'finished', elapsedS: 40 });
  assert.equal(finished.bestTop1, 0.8);
  const stopped = foldEvents([...evs, { type: 'end', time: 140, status: 'stopped' }]);
  assert.equal(deriveStatus(stopped, { state: 'dead', lock }).status, 'stopped');

  assert.equal(deriveStatus(p, { state: 'none' }).status, 'unknown');
  assert.equal(deriveStatus(foldEvents([]), { state: 'none' }).reason, 'no start event in events.jsonl yet');
  assert.equal(deriveStatus(p, { state: 'foreign', lock: { ...lock, host: 'gpu-node-7' } }).status, 'unknown');
});

test('a resumed run: elapsed sums the segments, the old ending and error are cleared, best accuracy kept', () => {
  const p = foldEvents([
    start(0),
    progress(50, 50),
    { type: 'metrics', time: 60, epoch: 0, step: 50, split: 'val', acc: { top1: 0.4 } },
    { type: 'metrics', time: 60, epoch: 0, step: 50, split: 'train', acc: { top1: 0.9 } },
    { type: 'error', time: 61, message: 'interrupted', kind: 'interrupted' },
    { type: 'end', time: 61, status: 'stopped' },
    { ...start(1000), resumed_from: 50 },
    progress(1020, 70),
  ]);
  assert.equal(p.starts, 2);
  assert.equal(p.activeS, 61 + 20);
  assert.equal(p.end, undefined);
  assert.equal(p.lastError, undefined);
  assert.equal(p.bestTop1, 0.4, 'train accuracy does not count as best');
  assert.equal(deriveStatus(p, { state: 'alive', lock }, 1030).elapsedS, 91);
});

test('formatDuration', () => {
  assert.equal(formatDuration(5), '5s');
  assert.equal(formatDuration(185), '3m 05s');
  assert.equal(formatDuration(3720), '1h 02m');
  assert.equal(formatDuration(NaN), '–');
});

test('the runs folder: listed newest first, config errors name the file, a dead lock shows failed', async () => {
  const runs = path.join(tmp, 'runs');
  const a = path.join(runs, 'a'), b = path.join(runs, 'b'), notRun = path.join(runs, 'notes');
  for (const d of [a, b, notRun]) mkdirSync(d, { recursive: true });
  writeFileSync(path.join(a, 'config.json'), '{"backbone":"tiny_rn"}');
  writeFileSync(path.join(a, 'events.jsonl'), line(start(1)) + line({ type: 'end', time: 2, status: 'finished', best_top1: 0.5 }));
  await new Promise((r) => setTimeout(r, 20));
  writeFileSync(path.join(b, 'config.json'), '{"backbone": ');
  writeFileSync(path.join(b, 'events.jsonl'), line(start(1)) + line(progress(2, 1)) + 'garbage\n');
  writeFileSync(path.join(b, 'train.log'), 'one\ntwo\nthree\n');
  // a lock whose pid is certainly gone (pid_max is far below this)
  await writeLock(b, { ...lock, pid: 4_000_000, pgid: 4_000_000 });
  const list = await listRuns(runs);
  assert.deepEqual(list.map((r) => r.name), ['b', 'a']);
  assert.equal(list[0].status.status, 'failed');
  assert.equal(list[0].corrupt.length, 1);
  assert.equal(list[1].status.status, 'finished');
  assert.deepEqual(await readRunConfig(a), { backbone: 'tiny_rn' });
  await assert.rejects(readRunConfig(b), (e: Error) => e.message.startsWith(path.join(b, 'config.json')) && /not valid JSON/.test(e.message));
  await assert.rejects(readRunConfig(notRun), /missing/);
  assert.deepEqual(await readLogTail(b, 2), ['two', 'three']);
  assert.deepEqual(await listRuns(path.join(tmp, 'nothing')), []);
  // delete refuses a live run, removes a dead one
  await writeLock(a, { ...lock, pid: process.pid, pgid: process.pid });
  await assert.rejects(deleteRun(a), /still running/);
  await deleteRun(b);
  assert.deepEqual((await listRuns(runs)).map((r) => r.name), ['a']);
  assert.equal((await readRun(a)).status.status, 'running');
});

test('the dashboard feed: a snapshot of everything, then only what was appended; a replaced file gives a new snapshot', async () => {
  const { DashboardFeed } = await import('../../src/core/runs/dashboardFeed');
  const dir = path.join(tmp, 'feed');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'events.jsonl'), line(start(1)) + line(progress(2, 1)) + '{"type":"progress","time":3,"epo');
  writeFileSync(path.join(dir, 'train.log'), 'loading\n');
  const feed = new DashboardFeed(dir);
  const snap = await feed.snapshot();
  assert.equal(snap.type, 'snapshot');
  if (snap.type !== 'snapshot') return;
  assert.deepEqual(snap.events.map((e) => e.type), ['start', 'progress']);
  assert.deepEqual(snap.log, ['loading']);
  assert.equal(snap.run.status.status, 'unknown');
  assert.deepEqual(await feed.poll(), [], 'nothing new, status unchanged');
  appendFileSync(path.join(dir, 'events.jsonl'), 'ch":0,"step":2}\n' + line({ type: 'end', time: 4, status: 'finished' }));
  appendFileSync(path.join(dir, 'train.log'), 'done\n');
  const msgs = await feed.poll();
  assert.deepEqual(msgs.map((m) => m.type), ['events', 'log', 'run']);
  assert.deepEqual(msgs[0].type === 'events' && msgs[0].events.map((e) => e.type), ['progress', 'end']);
  assert.deepEqual(msgs[1].type === 'log' && msgs[1].lines, ['done']);
  assert.equal(msgs[2].type === 'run' && msgs[2].run.status.status, 'finished');
  writeFileSync(path.join(dir, 'events.jsonl'), line(start(10)));
  const again = await feed.poll();
  assert.equal(again.length, 1);
  assert.equal(again[0].type, 'snapshot');
});

test('runs view rows and the status bar text', async () => {
  const { runRow, statusBarText } = await import('../../src/core/runs/presentation');
  const p = foldEvents([start(0), { type: 'progress', time: 185, epoch: 1, step: 42, total_steps: 100, loss: 0.123456, eta_s: 250 }, { type: 'metrics', time: 185, epoch: 0, step: 42, split: 'val', acc: { top1: 0.8123 } }]);
  const running = runRow({ name: 'cub', status: deriveStatus(p, { state: 'alive', lock }, 185), progress: p, hasCheckpoint: true });
  assert.equal(running.description, 'running 42% · 3m 05s · best 81.2%');
  assert.equal(running.icon, 'sync~spin');
  assert.equal(running.contextValue, 'run.running.checkpoint');
  assert.match(running.tooltip, /step 42 of 100, epoch 2 of 2/);
  const failed = runRow({ name: 'cub', status: deriveStatus(p, { state: 'dead', lock }), progress: p, hasEval: true });
  assert.equal(failed.description, 'failed · 3m 05s · best 81.2%');
  assert.equal(failed.contextValue, 'run.failed.eval');
  assert.match(failed.tooltip, /killed or crashed/);
  assert.deepEqual(statusBarText('cub', p), { text: '$(sync~spin) cub 42% · ETA 4m 10s', tooltip: 'PSCL training cub: step 42/100, loss 0.1235. Click for the dashboard.' });
});

test('RunsIndex: polling reads only what was appended, follows replaced files and removed runs', async () => {
  const { RunsIndex } = await import('../../src/core/runs/folder');
  const runs = path.join(tmp, 'indexed');
  const a = path.join(runs, 'a');
  mkdirSync(a, { recursive: true });
  writeFileSync(path.join(a, 'events.jsonl'), line(start(0)) + line(progress(10, 1)));
  const index = new RunsIndex(runs);
  let [r] = await index.list(20);
  assert.equal(r.progress.step, 1);
  appendFileSync(path.join(a, 'events.jsonl'), line(progress(20, 2)) + 'garbage\n' + line({ type: 'end', time: 21, status: 'finished', best_top1: 0.7 }));
  const before = r;
  [r] = await index.list(30);
  assert.equal(r.progress.step, 2);
  assert.equal(r.status.status, 'finished');
  assert.equal(r.progress.bestTop1, 0.7);
  assert.equal(r.corrupt.length, 1);
  assert.equal(r.status.elapsedS, 21);
  assert.equal(before.progress.step, 1, 'an earlier list is not changed by a later one');
  // the same as reading the run whole
  assert.deepEqual((await readRun(a, 30)).progress, r.progress);
  // replaced (a new file, longer than the old one) by a new run of the same name
  writeFileSync(path.join(a, 'events.new'), line(start(100)) + line({ type: 'gpu_stats', time: 100, note: 'x'.repeat(400) }));
  renameSync(path.join(a, 'events.new'), path.join(a, 'events.jsonl'));
  [r] = await index.list(110);
  assert.equal(r.progress.starts, 1);
  assert.equal(r.progress.step, undefined);
  assert.equal(r.corrupt.length, 0);
  rmSync(a, { recursive: true });
  assert.deepEqual(await index.list(), []);
});
