// PSCL Studio: the table of contents. Everything else lives in the modules named here, one folder
// per feature (project, taxonomy, parts, llm, preview, runs), each with its commands and views.
import * as vscode from 'vscode';
import { TrainerProcess } from '../core/runs/launch';
import { Backend, stopBackends } from './backend';
import { Config } from './config';
import { Ctx, type CommandFactory } from './ctx';
import { PersistentState } from './state';
// project files: the store, Problems, quick fixes, new project and validation
import { registerQuickFixes } from './project/codeActions';
import { newProjectFromDataset, validate } from './project/commands';
import { registerDiagnostics } from './project/diagnostics';
import { ProjectStore } from './project/store';
// the Taxonomy view and its edits
import { addClass, move, remove, rename, revealInFile } from './taxonomy/commands';
import { TaxonomyView } from './taxonomy/tree';
import { clearFilter, filter, refresh } from './taxonomy/viewCommands';
// the Parts view and its edits
import { addPart, addPhrasing, addTemplate, editPhrasing, editTemplate, movePartDown, movePartUp, removePart, removePhrasing, removeTemplate, renamePart } from './parts/commands';
import { PartsView } from './parts/tree';
// LLM suggestions
import { clearApiKey, setApiKey, suggestDescriptions, suggestIntermediate, suggestParts } from './llm/commands';
// the mask preview
import { openMaskPreview, previewMasksForFile, previewMasksForNode } from './preview/commands';
import { Previews } from './preview/previews';
// training runs: the Runs view, trainers, dashboard and evaluation panels
import { classifyImage, deleteRunCommand, openDashboard, openEvaluation, refreshRuns, resumeRun, revealRun, startTraining, stopRun } from './runs/commands';
import { RunPanels } from './runs/panels';
import { RunsView } from './runs/runsView';
import { Trainers } from './runs/trainers';
import { openSample, openWalkthrough, registerWalkthrough } from './walkthrough';
// prompt quality: scores on save, the Prompt Report, badges and Problems
import { cancelPromptScores, openPromptReport, scorePrompts } from './quality/commands';
import { PromptReports } from './quality/report';
import { PromptScores } from './quality/scores';
// the Dataset view: images, findings, decisions
import { openDatasetView } from './dataset/commands';
import { DatasetViews } from './dataset/views';

const commands: Record<string, CommandFactory> = {
  // project files
  'pscl.newProjectFromDataset': newProjectFromDataset,
  'pscl.validate': validate,
  // the Taxonomy view
  'pscl.taxonomy.addClass': addClass,
  'pscl.taxonomy.rename': rename,
  'pscl.taxonomy.delete': remove,
  'pscl.taxonomy.move': move,
  'pscl.taxonomy.revealInFile': revealInFile,
  'pscl.taxonomy.filter': filter,
  'pscl.taxonomy.clearFilter': clearFilter,
  'pscl.taxonomy.refresh': refresh,
  // the Parts view
  'pscl.parts.add': addPart,
  'pscl.parts.rename': renamePart,
  'pscl.parts.delete': removePart,
  'pscl.parts.moveUp': movePartUp,
  'pscl.parts.moveDown': movePartDown,
  'pscl.parts.addPhrasing': addPhrasing,
  'pscl.parts.editPhrasing': editPhrasing,
  'pscl.parts.removePhrasing': removePhrasing,
  'pscl.parts.addTemplate': addTemplate,
  'pscl.parts.editTemplate': editTemplate,
  'pscl.parts.removeTemplate': removeTemplate,
  // LLM suggestions
  'pscl.llm.setApiKey': setApiKey,
  'pscl.llm.clearApiKey': clearApiKey,
  'pscl.llm.suggestIntermediate': suggestIntermediate,
  'pscl.llm.suggestParts': suggestParts,
  'pscl.llm.suggestDescriptions': suggestDescriptions,
  // the mask preview
  'pscl.preview.open': openMaskPreview,
  'pscl.preview.forNode': previewMasksForNode,
  'pscl.preview.forFile': previewMasksForFile,
  // training runs
  'pscl.runs.startTraining': startTraining,
  'pscl.runs.stop': stopRun,
  'pscl.runs.resume': resumeRun,
  'pscl.runs.openDashboard': openDashboard,
  'pscl.runs.openEvaluation': openEvaluation,
  'pscl.runs.reveal': revealRun,
  'pscl.runs.delete': deleteRunCommand,
  'pscl.runs.refresh': refreshRuns,
  'pscl.runs.classifyImage': classifyImage,
  // prompt quality
  'pscl.quality.openReport': openPromptReport,
  'pscl.quality.score': scorePrompts,
  'pscl.quality.cancel': cancelPromptScores,
  'pscl.dataset.open': openDatasetView,
  'pscl.openSample': openSample,
  'pscl.walkthrough.open': openWalkthrough,
};

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  // what everything is built on
  const log = vscode.window.createOutputChannel('PSCL', { log: true });
  const config = new Config();
  const state = new PersistentState(context.workspaceState, context.globalState);
  const projects = new ProjectStore(config, log);
  const ctx = new Ctx(context, config, state, projects, log);
  ctx.backend = new Backend(context, log, (what) => ctx.requireTrust(what), () => config.backendEnv);
  context.subscriptions.push(log, config, projects, ctx.backend, registerDiagnostics(projects), registerQuickFixes());

  // the views and panels of each feature
  ctx.taxonomy = new TaxonomyView(projects, config, state.taxonomyFilter);
  void vscode.commands.executeCommand('setContext', 'pscl.taxonomyFiltered', ctx.taxonomy.model.filter.active);
  ctx.parts = new PartsView(projects);
  ctx.previews = new Previews(ctx);
  ctx.runs = new RunsView(config);
  ctx.trainers = new Trainers(ctx);
  ctx.runPanels = new RunPanels(ctx, { stop: (d) => vscode.commands.executeCommand('pscl.runs.stop', d), resume: (d) => vscode.commands.executeCommand('pscl.runs.resume', d), canStop: (d) => ctx.trainers.isOurs(d) });
  ctx.promptScores = new PromptScores(ctx);
  ctx.promptReports = new PromptReports(ctx, ctx.promptScores);
  ctx.parts.showScores(ctx.promptScores);
  ctx.taxonomy.showScores(ctx.promptScores);
  ctx.datasets = new DatasetViews(ctx, { openMaskPreview: (project, image, coarse) => void ctx.previews.open({ project: project.toString(), image, coarse: coarse && ctx.projects.snapshot(project)?.parsed.project?.parts[coarse]?.length ? coarse : undefined }) });
  context.subscriptions.push(ctx.taxonomy, ctx.parts, ctx.previews, ctx.runs, ctx.trainers, ctx.runPanels, ctx.promptScores, ctx.promptReports, ctx.datasets, ctx.trainers.onDidChange(() => ctx.runs.refreshSoon()));

  for (const [id, factory] of Object.entries(commands)) {
    context.subscriptions.push(vscode.commands.registerCommand(id, factory(ctx)));
  }
  context.subscriptions.push(registerWalkthrough(ctx));
  await projects.start();
  log.info(`activated: ${projects.uris().length} project file(s), workspace ${vscode.workspace.isTrusted ? 'trusted' : 'in Restricted Mode'}`);
}

export async function deactivate(): Promise<void> {
  // Everything else is in context.subscriptions. Trainers get SIGTERM (they checkpoint and write
  // `end: stopped`) and SIGKILL to their process group after 4 s; the backend process is waited for.
  await Promise.all([stopBackends(), TrainerProcess.stopAll(4000)]);
}
