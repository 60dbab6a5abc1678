// Runs commands: Start Training, Stop, Resume, Open Dashboard / Evaluation, Reveal, Delete,
// Classify Image. Everything that starts a process goes through ctx.requireTrust.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';
import { describeDemoModel, resolveDemoModel } from '../../core/clip/demoModel';
import { CacheRequests } from '../../core/rpc/cache';
import {
  checkPythonEnvironment,
  formatBytes,
  runPreflight,
  type PreflightEstimate,
  deleteRun,
  exportRunModel,
  isRunDir,
  ONNX_FILE,
  predictionPath,
  readRun,
  RunClassifier,
  slurmJobName,
  slurmResourcesProblem,
  slurmTrainScript,
  trainArgs,
  type PythonEnvironment,
  type RunSummary,
} from '../../core/runs';
import { writeFileAtomic } from '../../core/util/atomicWrite';
import { pickProject } from '../taxonomy/pick';
import type { CommandFactory, Ctx } from '../ctx';
import type { ProjectNode } from '../taxonomy/model';
import { resolvePython, trainerPath } from './trainers';

/** The config file Start Training writes into the run folder (config.json is the trainer's own). */
export const TRAIN_CONFIG_FILE = 'train-config.json';
/** The sbatch script "Export as SLURM job" writes into the run folder. */
export const SLURM_SCRIPT_FILE = 'slurm-train.sbatch';
const IMAGE_EXT = /\.(jpe?g|png|webp)$/i;

type RunArg = RunSummary | string | vscode.Uri | undefined;

function dirOf(arg: RunArg): string | undefined {
  if (!arg) return undefined;
  if (typeof arg === 'string') return arg;
  if (arg instanceof vscode.Uri) return arg.fsPath;
  return arg.dir;
}

/** The run a command acts on: the tree row, or one picked among those `accept` allows. */
async function pickRun(ctx: Ctx, arg: RunArg, placeHolder: string, accept: (r: RunSummary) => boolean = () => true): Promise<string | undefined> {
  const given = dirOf(arg);
  if (given) return given;
  await ctx.runs.refresh();
  const runs = ctx.runs.all.filter(accept);
  if (runs.length === 0) {
    void vscode.window.showInformationMessage(`No run for this in ${ctx.runs.folder ?? 'the runs folder'}.`);
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    runs.map((r) => ({ label: r.name, description: `${r.status.status}`, detail: r.status.reason?.split('\n')[0], dir: r.dir })),
    { placeHolder },
  );
  return picked?.dir;
}

/** The Python environment, checked with progress; undefined (after saying what to install) when it cannot train. */
async function checkedEnvironment(ctx: Ctx, gpus?: number): Promise<{ python: string; env: PythonEnvironment } | undefined> {
  const python = await resolvePython(ctx);
  const env = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `PSCL: checking the Python environment (${python})` }, () =>
    checkPythonEnvironment(python, { trainerPath: trainerPath(ctx), gpus }),
  );
  for (const p of env.problems) ctx.log[p.severity === 'error' ? 'error' : 'warn'](`python check: ${p.message}${p.fix ? ` Fix: ${p.fix}` : ''}`);
  const errors = env.problems.filter((p) => p.severity === 'error');
  if (!env.ok) {
    const first = errors[0]!;
    const actions = [first.fix && !first.fix.startsWith('Set') ? 'Copy Fix' : undefined, 'Open Settings'].filter((x): x is string => !!x);
    const pick = await vscode.window.showErrorMessage(`Cannot train with ${python}: ${first.message}${first.fix ? ` Fix: ${first.fix}` : ''}`, ...actions);
    if (pick === 'Copy Fix') await vscode.env.clipboard.writeText(first.fix!.split('   ')[0]!);
    if (pick === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', 'pscl.python');
    return undefined;
  }
  ctx.log.info(`python ${env.pythonVersion}, torch ${env.torchVersion}, ${env.cudaAvailable ? `CUDA ${env.cudaVersion}: ${env.deviceNames.join(', ')}` : 'no CUDA: training runs on the CPU'}`);
  return { python, env };
}

async function configPresets(ctx: Ctx): Promise<{ name: string; file: string; config: Record<string, unknown> }[]> {
  const dir = path.join(trainerPath(ctx), 'pscl_trainer', 'configs');
  const names = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(names.map(async (f) => ({ name: f.replace(/\.json$/, ''), file: path.join(dir, f), config: JSON.parse(await readFile(path.join(dir, f), 'utf8')) as Record<string, unknown> })));
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'run';
}

/** Builds or refreshes the project's training cache in the backend; undefined when cancelled or failed (after saying why). */
async function buildCache(ctx: Ctx, projectFile: string): Promise<string | undefined> {
  const backend = ctx.backend.get('Building the training cache');
  if (!backend) return undefined;
  try {
    return await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'PSCL: training cache', cancellable: true }, async (progress, token) => {
      let last = 0;
      const r = await backend.request(CacheRequests.build, { projectFile, model: ctx.config.clipModel, device: ctx.config.clipDevice }, {
        token,
        onProgress: (p) => {
          const pct = p.total ? (100 * p.done) / p.total : 0;
          progress.report({ message: p.message, increment: Math.max(0, pct - last) });
          last = Math.max(last, pct);
        },
      });
      ctx.log.info(`cache ${r.dir}: ${r.images.computed} computed, ${r.images.reused} reused, ${r.images.errors} errors`);
      return r.dir;
    });
  } catch (err) {
    if (err instanceof vscode.CancellationError || /cancel/i.test((err as Error).message)) return undefined;
    void vscode.window.showErrorMessage(`Building the training cache failed: ${(err as Error).message}`);
    return undefined;
  }
}

/** The trainer's environment: the user's folder for relative paths, the demo CLIP's folder when the config names it. */
async function trainerEnv(ctx: Ctx, config: Record<string, unknown>): Promise<Record<string, string>> {
  // the backend's cache folder: clip:<repo> finds the models the extension fetched
  const env: Record<string, string> = { PSCL_CACHE_DIR: path.join(ctx.extension.globalStorageUri.fsPath, 'cache') };
  const ws = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (ws) env.PSCL_CWD = ws;
  if (config.backbone_weights === 'clip:demo') {
    const demo = await resolveDemoModel(path.join(ctx.extension.globalStorageUri.fsPath, 'cache'), ctx.extension.extensionPath);
    if (!demo.trained) void vscode.window.showWarningMessage(`PSCL: backbone_weights "clip:demo" is ${describeDemoModel(demo)}. Set it to a CLIP folder (clip:<folder>) for a tower that has learned something.`);
    env.PSCL_DEMO_CLIP = demo.dir;
  }
  return env;
}

type Decision = { start: false } | { start: true; set: Record<string, unknown>; force?: boolean; preset?: string };

/**
 * The wizard's last step: the preflight estimate (peak memory of free, s/step, ETA) and what to do.
 * A batch that does not fit is offered lowered; a refusal says why and offers the CPU preset.
 */
async function confirmEstimate(e: PreflightEstimate, step: string): Promise<Decision> {
  const warn = e.warnings.map((w) => `⚠ ${w}`).join(' ');
  const mem = `peak ${formatBytes(e.memory.peak_bytes)} of ${formatBytes(e.memory.free_bytes)} free ${e.memory.kind}`;
  type Item = vscode.QuickPickItem & { decision: Decision };
  const items: Item[] = [];
  if (e.verdict === 'ok' || e.verdict === 'adjust') {
    const label = e.verdict === 'adjust' ? `Start with batch ${String(e.set.batch_size)} × ${String(e.set.grad_accum)} accumulated` : 'Start training';
    items.push({ label, description: e.summary, detail: [...e.messages, warn].filter(Boolean).join(' · ') || mem, decision: { start: true, set: e.set } });
  } else {
    items.push({ label: 'Cannot start this configuration', description: e.summary, detail: e.advice, decision: { start: false } });
    if (/would take about/.test(e.advice ?? '')) items.push({ label: 'Start anyway', description: 'the CPU run takes that long', decision: { start: true, set: e.set, force: true } });
  }
  if (e.device === 'cpu' && !e.backbone.startsWith('tiny')) items.push({ label: 'Use the CPU preset "tiny" instead', description: 'small backbone at 32 px: minutes on a CPU', decision: { start: true, set: {}, preset: 'tiny' } });
  items.push({ label: 'Cancel', decision: { start: false } });
  const pick = await vscode.window.showQuickPick(items, { title: `${step}: estimate before starting`, placeHolder: `${e.summary}${warn ? ` ${warn}` : ''}`, ignoreFocusOut: true });
  return pick?.decision ?? { start: false };
}

/** PSCL: Start Training — project, config preset, epochs, run name, device; then cache and trainer. */
export const startTraining: CommandFactory = (ctx) => async (arg?: ProjectNode) => {
  if (!ctx.requireTrust('Training')) return;
  const runsDir = ctx.runs.folder;
  if (!runsDir) return void vscode.window.showErrorMessage('Open a folder first: runs are kept in its "pscl.runs.folder" (default runs/).');
  const node = arg?.kind === 'project' ? arg : await pickProject(ctx);
  const project = node?.snapshot.parsed.project;
  if (!node) return;
  if (!project) return void vscode.window.showErrorMessage(`${node.snapshot.relativePath} does not parse: fix it before training (PSCL: Validate Project Files).`);
  const projectFile = vscode.Uri.parse(node.snapshot.key).fsPath;

  const presets = await configPresets(ctx);
  const preset = await vscode.window.showQuickPick(
    presets.map((p) => ({ label: p.name, description: `${String(p.config.backbone ?? '')} · ${String(p.config.resolution ?? '?')} px · ${String(p.config.epochs ?? '?')} epochs`, preset: p })),
    { placeHolder: 'Backbone and configuration (trainer/pscl_trainer/configs)', title: 'Start Training (1/4)' },
  );
  if (!preset) return;
  const epochsText = await vscode.window.showInputBox({
    title: 'Start Training (2/4)',
    prompt: 'Epochs',
    value: String(preset.preset.config.epochs ?? 1),
    validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) >= 1 ? undefined : 'a whole number of epochs, 1 or more'),
  });
  if (!epochsText) return;
  const stamp = new Date().toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
  const name = await vscode.window.showInputBox({
    title: 'Start Training (3/4)',
    prompt: `Run name (a folder in ${runsDir})`,
    value: `${slug(project.name)}-${preset.label}-${stamp}`,
    validateInput: (v) => (!/^[\w.-]+$/.test(v) ? 'letters, digits, ".", "-" and "_" only' : existsSync(path.join(runsDir, v)) ? `${v} exists: choose another name, or Resume that run` : undefined),
  });
  if (!name) return;

  const checked = await checkedEnvironment(ctx);
  if (!checked) return;
  const choices = [
    ...(checked.env.cudaAvailable
      ? Array.from({ length: checked.env.deviceCount }, (_, i) => ({ label: `${i + 1} GPU${i ? 's' : ''}`, description: i ? 'torchrun' : checked.env.deviceNames[0], gpus: i + 1, device: 'cuda' as const, slurm: false }))
      : []),
    { label: 'CPU', description: checked.env.cudaAvailable ? 'slow: for small tests' : 'no CUDA device here: slow, for small tests', gpus: 1, device: 'cpu' as const, slurm: false },
    { label: 'Export as SLURM job...', description: 'an sbatch script for N nodes x G GPUs, to submit on a cluster', gpus: 1, device: 'cuda' as const, slurm: true },
  ];
  const where = await vscode.window.showQuickPick(choices, { placeHolder: 'Where to train', title: 'Start Training: where' });
  if (!where) return;
  const slurm = where.slurm ? await askSlurmShape(checked.env.cudaAvailable ? checked.env.deviceCount : 4) : undefined;
  if (where.slurm && !slurm) return;
  const { gpus, device } = where;

  const cache = await buildCache(ctx, projectFile);
  if (!cache) return;
  const runDir = path.join(runsDir, name);
  const created = !existsSync(runDir);
  await mkdir(runDir, { recursive: true });
  // the editable settings of this run: the preset with the chosen epochs (config.json is the trainer's)
  const configFile = path.join(runDir, TRAIN_CONFIG_FILE);
  let settings: Record<string, unknown> = { ...preset.preset.config, epochs: Number(epochsText) };
  await writeFile(configFile, `${JSON.stringify(settings, null, 2)}\n`);
  if (slurm) return exportSlurmJob(ctx, { ...slurm, python: checked.python, runDir, cache, configFile });
  const giveUp = async () => {
    if (created) await rm(runDir, { recursive: true, force: true });
  };
  let env = await trainerEnv(ctx, settings);
  // preflight: one probed step says whether it fits and how long it takes; shown before starting
  let estimate: PreflightEstimate;
  try {
    estimate = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'PSCL: estimating memory and time (one probed training step)' }, (progress) =>
      runPreflight({
        python: checked.python, trainerPath: trainerPath(ctx), runDir, cache, config: configFile, device, nproc: gpus, fetch: true, env,
        onStderr: (t) => {
          const line = t.split('\n').filter((l) => / downloading /.test(l)).pop();
          if (line) progress.report({ message: line.replace(/^\[pscl-trainer[^\]]*\] /, '') });
        },
      }),
    );
  } catch (err) {
    await giveUp();
    return void vscode.window.showErrorMessage(`Cannot start training: ${(err as Error).message}`);
  }
  ctx.log.info(`preflight ${name}: ${estimate.verdict}: ${estimate.summary}${estimate.advice ? ` (${estimate.advice})` : ''}`);
  const decision = await confirmEstimate(estimate, 'Start Training (4/4)');
  if (!decision.start) return void (await giveUp());
  if (decision.preset) {
    const cpu = presets.find((p) => p.name === decision.preset);
    if (cpu) settings = { ...cpu.config, epochs: Number(epochsText) };
  } else {
    settings = { ...settings, ...decision.set };
  }
  await writeFile(configFile, `${JSON.stringify(settings, null, 2)}\n`);
  if (decision.preset) env = await trainerEnv(ctx, settings);
  try {
    await ctx.trainers.start(name, { runDir, nprocPerNode: gpus, env, args: trainArgs({ cache, runDir, config: configFile, device }) });
  } catch (err) {
    return void vscode.window.showErrorMessage(`Cannot start the trainer: ${(err as Error).message}`);
  }
  await ctx.runs.refresh();
  await ctx.runPanels.openDashboard(runDir);
};

/** Nodes and GPUs per node of a SLURM job (two input boxes); undefined when cancelled. */
async function askSlurmShape(gpusHere: number): Promise<{ nodes: number; gpusPerNode: number } | undefined> {
  const whole = (v: string) => (/^\d+$/.test(v.trim()) && Number(v) >= 1 ? undefined : 'a whole number, 1 or more');
  const nodes = await vscode.window.showInputBox({ title: 'Export as SLURM job (1/2)', prompt: 'Nodes (machines)', value: '2', validateInput: whole });
  if (!nodes) return undefined;
  const gpus = await vscode.window.showInputBox({ title: 'Export as SLURM job (2/2)', prompt: 'GPUs per node', value: String(Math.max(1, gpusHere)), validateInput: whole });
  if (!gpus) return undefined;
  return { nodes: Number(nodes), gpusPerNode: Number(gpus) };
}

/**
 * Writes the run's sbatch script (the core's slurmTrainScript, as `pscl train --emit-slurm`) into
 * the run folder and opens it; submitting it is the user's step (docs/cluster.md).
 */
async function exportSlurmJob(ctx: Ctx, o: { nodes: number; gpusPerNode: number; python: string; runDir: string; cache: string; configFile: string }): Promise<void> {
  const { partition, account, time, extra } = ctx.config.slurm;
  const resources = { jobName: slurmJobName('pscl', o.runDir), nodes: o.nodes, gpusPerNode: o.gpusPerNode, partition, account, time, extra };
  const problem = slurmResourcesProblem(resources);
  if (problem) {
    const open = 'Open Settings';
    if ((await vscode.window.showErrorMessage(`Cannot write the SLURM script: ${problem.replace(/^--(partition|account|time)/, 'pscl.slurm.$1').replace(/^an extra sbatch option/, 'an item of pscl.slurm.extraOptions')}.`, open)) === open) {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'pscl.slurm');
    }
    return;
  }
  const script = slurmTrainScript({ ...resources, python: o.python, trainerPath: trainerPath(ctx), runDir: o.runDir, cache: o.cache, config: o.configFile });
  const file = path.join(o.runDir, SLURM_SCRIPT_FILE);
  await writeFileAtomic(file, script);
  ctx.log.info(`wrote ${file}: ${o.nodes} node(s) x ${o.gpusPerNode} GPU(s); submit it with sbatch`);
  await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: false });
  const copy = 'Copy sbatch Command';
  void vscode.window.showInformationMessage(`Wrote ${path.basename(o.runDir)}/${SLURM_SCRIPT_FILE} (${o.nodes} node(s) x ${o.gpusPerNode} GPU(s)); submit it with sbatch on the cluster. The run appears here once it starts.`, copy).then(async (pick) => {
    if (pick === copy) await vscode.env.clipboard.writeText(`sbatch ${file}`);
  });
  await ctx.runs.refresh();
}

export const stopRun: CommandFactory = (ctx) => async (arg?: RunArg) => {
  if (!ctx.requireTrust('Stopping a trainer')) return;
  const runDir = await pickRun(ctx, arg, 'Run to stop', (r) => r.status.status === 'running');
  if (!runDir) return;
  let status: string;
  try {
    status = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `PSCL: stopping ${path.basename(runDir)} (saving a checkpoint first)` }, () => ctx.trainers.stop(runDir));
  } catch (err) {
    // e.g. run.lock names a process that is not this run's trainer: nothing was signalled
    const message = err instanceof Error ? err.message : String(err);
    ctx.log.warn(`stop ${runDir}: ${message}`);
    return void vscode.window.showErrorMessage(`${path.basename(runDir)}: ${message}`);
  }
  await ctx.runs.refresh();
  if (status === 'not-running') void vscode.window.showInformationMessage(`${path.basename(runDir)} is not running.`);
  else if (status === 'failed') void vscode.window.showWarningMessage(`${path.basename(runDir)} did not stop in time and was killed; the last checkpoint is kept.`);
};

export const resumeRun: CommandFactory = (ctx) => async (arg?: RunArg) => {
  if (!ctx.requireTrust('Resuming a training')) return;
  const runDir = await pickRun(ctx, arg, 'Run to resume', (r) => r.status.status !== 'running' && r.status.status !== 'finished' && r.hasCheckpoint);
  if (!runDir) return;
  const run = await readRun(runDir);
  if (run.status.status === 'running') return void vscode.window.showInformationMessage(`${run.name} is already running.`);
  if (!run.hasCheckpoint) return void vscode.window.showErrorMessage(`${run.name} has no checkpoint to resume from (${path.join(runDir, 'checkpoints')} is empty): start a new run.`);
  const world = run.progress.worldSize ?? 1;
  const checked = await checkedEnvironment(ctx, world > 1 ? world : undefined);
  if (!checked) return;
  const device = run.progress.device?.startsWith('cuda') && checked.env.cudaAvailable ? 'cuda' : run.progress.device?.startsWith('cuda') ? undefined : 'cpu';
  if (!device) return void vscode.window.showErrorMessage(`${run.name} trained on ${run.progress.device}, but ${checked.python} sees no CUDA device: install the CUDA build of PyTorch or resume on a machine with the GPU.`);
  try {
    await ctx.trainers.start(run.name, { runDir, nprocPerNode: device === 'cuda' ? world : 1, args: trainArgs({ runDir, resume: true, device }) });
  } catch (err) {
    return void vscode.window.showErrorMessage(`Cannot resume ${run.name}: ${(err as Error).message}`);
  }
  await ctx.runs.refresh();
  await ctx.runPanels.openDashboard(runDir);
};

export const openDashboard: CommandFactory = (ctx) => async (arg?: RunArg) => {
  const runDir = await pickRun(ctx, arg, 'Run to show');
  if (runDir) await ctx.runPanels.openDashboard(runDir);
};

export const openEvaluation: CommandFactory = (ctx) => async (arg?: RunArg) => {
  const runDir = await pickRun(ctx, arg, 'Evaluated run to show', (r) => r.hasEval);
  if (runDir) await ctx.runPanels.openEvaluation(runDir);
};

export const revealRun: CommandFactory = (ctx) => async (arg?: RunArg) => {
  const runDir = await pickRun(ctx, arg, 'Run to reveal');
  if (!runDir) return;
  const uri = vscode.Uri.file(runDir);
  const inWorkspace = vscode.workspace.getWorkspaceFolder(uri);
  await vscode.commands.executeCommand(inWorkspace ? 'revealInExplorer' : 'revealFileInOS', uri);
};

export const deleteRunCommand: CommandFactory = (ctx) => async (arg?: RunArg) => {
  const runDir = await pickRun(ctx, arg, 'Run to delete', (r) => r.status.status !== 'running');
  if (!runDir) return;
  if (!isRunDir(runDir)) return void vscode.window.showErrorMessage(`${runDir} is not a run folder: not deleting it.`);
  const ok = await vscode.window.showWarningMessage(`Delete the run ${path.basename(runDir)} and everything in its folder (checkpoints, logs, model)?`, { modal: true, detail: runDir }, 'Delete');
  if (ok !== 'Delete') return;
  try {
    await deleteRun(runDir);
  } catch (err) {
    void vscode.window.showErrorMessage((err as Error).message);
  }
  await ctx.runs.refresh();
};

export const refreshRuns: CommandFactory = (ctx) => () => ctx.runs.refresh();

/** The image a Classify Image from the palette means: the active editor's, else one picked. */
async function activeImage(): Promise<vscode.Uri | undefined> {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input as { uri?: vscode.Uri } | undefined;
  if (input?.uri && IMAGE_EXT.test(input.uri.fsPath)) return input.uri;
  return (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { Images: ['jpg', 'jpeg', 'png', 'webp'] }, title: 'Image to classify' }))?.[0];
}

/** Classify Image — top-5 classes with their taxonomy paths from a run's model.onnx. */
export const classifyImage: CommandFactory = (ctx) => async (uri?: vscode.Uri) => {
  if (!ctx.requireTrust('Classify Image')) return;
  const image = uri instanceof vscode.Uri ? uri : await activeImage();
  if (!image) return;
  const runDir = await pickRun(ctx, undefined, 'Run whose model classifies the image', (r) => r.hasModel || r.status.status === 'finished');
  if (!runDir) return;
  try {
    const preds = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `PSCL: classifying ${path.basename(image.fsPath)}` }, async (progress) => {
      if (!existsSync(path.join(runDir, ONNX_FILE))) {
        progress.report({ message: 'exporting model.onnx' });
        await exportRunModel({ python: await resolvePython(ctx), trainerPath: trainerPath(ctx), runDir });
      }
      const clf = await RunClassifier.load(runDir);
      try {
        return { list: await clf.classify(image.fsPath, 5), levels: clf.model.levels, probability: clf.model.probability };
      } finally {
        await clf.dispose();
      }
    });
    const lines = preds.list.map((p, i) => `${i + 1}. ${(p.prob * 100).toFixed(1)}%  ${predictionPath(p, preds.levels)}`);
    ctx.log.info(`classify ${image.fsPath} with ${path.basename(runDir)}:\n${lines.join('\n')}`);
    await vscode.window.showQuickPick(
      preds.list.map((p, i) => ({ label: `${i + 1}. ${p.name}`, description: `${(p.prob * 100).toFixed(1)}% · ${predictionPath(p, preds.levels)}` })),
      { title: `${path.basename(image.fsPath)}: top ${preds.list.length} (${path.basename(runDir)})`, placeHolder: `Predicted classes, most likely first (${preds.probability === 'softmax' ? 'probability' : 'sigmoid probability per class'})` },
    );
  } catch (err) {
    void vscode.window.showErrorMessage(`Classify Image: ${(err as Error).message}`);
  }
};
