// First run: the Get Started walkthrough (package.json `walkthroughs`), opened once per profile,
// and Open Sample, which copies the bundled sample (samples/tiny-birds) into a folder the user
// picks and opens it. Each walkthrough step completes on a context key set here when its action
// has really happened: the sample folder is open, a mask preview or an evaluation report is shown,
// a trainer of ours reported, part prompts were applied (set in commands/suggest.ts).
import os from 'node:os';
import * as vscode from 'vscode';
import type { CommandFactory, Ctx } from './ctx';

export const WALKTHROUGH_ID = 'pscl-studio.pscl-studio#pscl.gettingStarted';
const SAMPLE = 'tiny-birds';

const done = (key: 'sampleOpen' | 'masksPreviewed' | 'trainingStarted' | 'reportOpened') => vscode.commands.executeCommand('setContext', `pscl.walkthrough.${key}`, true);

export function registerWalkthrough(ctx: Ctx): vscode.Disposable {
  const sampleOpen = () => {
    const folders = new Set(ctx.state.sampleFolders);
    if (vscode.workspace.workspaceFolders?.some((f) => folders.has(f.uri.fsPath))) void done('sampleOpen');
  };
  sampleOpen();
  const tabs = () => {
    for (const tab of vscode.window.tabGroups.all.flatMap((g) => g.tabs)) {
      if (!(tab.input instanceof vscode.TabInputWebview)) continue;
      if (tab.input.viewType.endsWith('pscl.maskPreview')) void done('masksPreviewed');
      if (tab.input.viewType.endsWith('pscl.evalReport')) void done('reportOpened');
    }
  };
  tabs();
  const subscriptions = [
    vscode.workspace.onDidChangeWorkspaceFolders(sampleOpen),
    vscode.window.tabGroups.onDidChangeTabs(tabs),
    ctx.trainers.onDidChange(() => void done('trainingStarted')),
  ];
  // Once per profile, unless the user turned off walkthroughs opening by themselves.
  if (!ctx.state.walkthroughShown && vscode.workspace.getConfiguration('workbench.welcomePage').get('walkthroughs.openOnInstall', true)) {
    void ctx.state.setWalkthroughShown().then(() => vscode.commands.executeCommand('workbench.action.openWalkthrough', WALKTHROUGH_ID, false));
  }
  return vscode.Disposable.from(...subscriptions);
}

/** PSCL: Get Started. */
export const openWalkthrough: CommandFactory = () => () => vscode.commands.executeCommand('workbench.action.openWalkthrough', WALKTHROUGH_ID, false);

/** PSCL: Open Sample: copies the sample into <chosen folder>/tiny-birds (or reuses a copy there) and opens it. */
export const openSample: CommandFactory = (ctx) => async () => {
  const source = vscode.Uri.joinPath(ctx.extension.extensionUri, 'samples', SAMPLE);
  const parent = (
    await vscode.window.showOpenDialog({
      title: `Open Sample: the folder to put a copy of the ${SAMPLE} sample in`,
      canSelectFolders: true,
      canSelectFiles: false,
      defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri ?? vscode.Uri.file(os.homedir()),
      openLabel: 'Copy the Sample Here',
    })
  )?.[0];
  if (!parent) return;
  let target = vscode.Uri.joinPath(parent, SAMPLE);
  if (await exists(target)) {
    if (await exists(vscode.Uri.joinPath(target, `${SAMPLE}.pscl.json`))) {
      const pick = await vscode.window.showInformationMessage(`${target.fsPath} already holds the sample.`, { modal: true }, 'Open It', 'Make a New Copy');
      if (!pick) return;
      if (pick === 'Make a New Copy') target = await freeName(parent);
    } else target = await freeName(parent);
  }
  if (!(await exists(target))) {
    try {
      await vscode.workspace.fs.copy(source, target, { overwrite: false });
    } catch (err) {
      return void vscode.window.showErrorMessage(`Open Sample: cannot copy the sample to ${target.fsPath}: ${(err as Error).message}. Choose a folder you can write to.`);
    }
  }
  await ctx.state.addSampleFolder(target.fsPath);
  ctx.log.info(`sample copied to ${target.fsPath}`);
  // An empty window becomes the sample's; otherwise the sample opens next to what is open.
  await vscode.commands.executeCommand('vscode.openFolder', target, { forceNewWindow: (vscode.workspace.workspaceFolders?.length ?? 0) > 0 });
};

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}

async function freeName(parent: vscode.Uri): Promise<vscode.Uri> {
  for (let i = 2; ; i++) {
    const candidate = vscode.Uri.joinPath(parent, `${SAMPLE}-${i}`);
    if (!(await exists(candidate))) return candidate;
  }
}
