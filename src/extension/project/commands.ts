// Project-level commands: the import wizard and validation.
import * as vscode from 'vscode';
import { importDataset } from '../../core/taxonomy/importers';
import { DATASET_FORMATS, type DatasetFormat } from '../../core/taxonomy/model';
import { serializeProject } from '../../core/taxonomy/project';
import type { CommandFactory } from '../ctx';

const FORMAT_HELP: Record<DatasetFormat, string> = {
  cub: 'CUB-200-2011: classes.txt, images.txt, image_class_labels.txt, train_test_split.txt',
  nabirds: 'NABirds: classes.txt + hierarchy.txt (1011 nodes), images.txt ...',
  aircraft: 'FGVC-Aircraft: data/variants.txt, families.txt, manufacturers.txt, images_*.txt',
  cars: 'Stanford Cars: class names (Make Model [Body] Year)',
  dogs: 'Stanford Dogs: Images/<wnid>-<Breed>/ folders',
  imagefolder: 'Any dataset laid out as <root>/<class>/<image> (optionally train/ and test/)',
};

/** The import wizard: format, dataset folder, output file; runs the core importer with progress. */
export const newProjectFromDataset: CommandFactory = (ctx) => async () => {
  const last = ctx.state.lastImportFormat;
  const formats = [...DATASET_FORMATS].sort((a, b) => (a === last ? -1 : b === last ? 1 : 0));
  const format = (
    await vscode.window.showQuickPick(
      formats.map((f) => ({ label: f, detail: FORMAT_HELP[f], format: f })),
      { title: 'New PSCL Project (1/3): dataset format', placeHolder: 'Which format is the dataset in?' },
    )
  )?.format;
  if (!format) return;
  const folder = (
    await vscode.window.showOpenDialog({
      title: 'New PSCL Project (2/3): the dataset folder',
      canSelectFolders: true,
      canSelectFiles: false,
      defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
      openLabel: 'Use this dataset',
    })
  )?.[0];
  if (!folder) return;
  if (folder.scheme !== 'file') return void vscode.window.showErrorMessage('Datasets are read from local folders; this folder is not on the local file system.');
  const base = folder.path.split('/').filter(Boolean).pop() ?? 'dataset';
  const suggested = vscode.Uri.joinPath(folder, '..', `${base.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.pscl.json`);
  const outPath = await vscode.window.showInputBox({
    title: 'New PSCL Project (3/3): project file',
    value: suggested.fsPath,
    prompt: 'Where to write the project file (dataset.root is stored relative to it)',
    validateInput: (v) => (v.endsWith('.pscl.json') ? undefined : 'The file name must end in .pscl.json'),
  });
  if (!outPath) return;
  const out = vscode.Uri.file(outPath);
  try {
    await vscode.workspace.fs.stat(out);
    const ok = await vscode.window.showWarningMessage(`${vscode.workspace.asRelativePath(out)} exists. Replace it?`, { modal: true }, 'Replace');
    if (ok !== 'Replace') return;
  } catch {
    // does not exist: fine
  }
  await ctx.state.setLastImportFormat(format);
  const result = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Importing ${format} dataset ${base}`, cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      token.onCancellationRequested(() => abort.abort());
      try {
        progress.report({ message: 'reading its class and image lists...' });
        return await importDataset(format, folder.fsPath, { projectFile: out.fsPath, signal: abort.signal });
      } catch (err) {
        if (!token.isCancellationRequested) void vscode.window.showErrorMessage(`Import failed: ${(err as Error).message}`);
        return undefined;
      }
    },
  );
  if (!result) return;
  await writeAtomically(out, serializeProject(result.project));
  for (const w of result.warnings) ctx.log.warn(`${base}: ${w}`);
  await vscode.window.showTextDocument(out);
  void vscode.window.showInformationMessage(
    `Imported ${result.project.classes.length} classes and ${result.images.length} images${result.warnings.length ? ` (${result.warnings.length} warnings in the PSCL output)` : ''}.`,
  );
  await ctx.projects.rescan();
  // A project outside the workspace (an empty window, say) is not in the Taxonomy view: offer its folder.
  if (!vscode.workspace.getWorkspaceFolder(out)) {
    const open = await vscode.window.showInformationMessage(`${out.fsPath} is outside the workspace. Open its folder to see it in the Taxonomy view?`, 'Open Folder');
    if (open) await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.joinPath(out, '..'), { forceNewWindow: (vscode.workspace.workspaceFolders?.length ?? 0) > 0 });
  }
};

/** temp file + rename, so a crash never leaves half a project file. */
async function writeAtomically(uri: vscode.Uri, text: string): Promise<void> {
  const tmp = uri.with({ path: `${uri.path}.${process.pid}.tmp` });
  await vscode.workspace.fs.writeFile(tmp, new TextEncoder().encode(text));
  await vscode.workspace.fs.rename(tmp, uri, { overwrite: true });
}

/** Re-reads every project file and its dataset, and opens Problems with the result. */
export const validate: CommandFactory = (ctx) => async () => {
  await ctx.projects.rescan();
  let errors = 0;
  let warnings = 0;
  for (const s of ctx.projects.snapshots()) {
    errors += s.diagnostics.filter((d) => d.severity === 'error').length;
    warnings += s.diagnostics.filter((d) => d.severity === 'warning').length;
  }
  const files = ctx.projects.uris().length;
  const summary = `${files} project file${files === 1 ? '' : 's'}: ${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
  if (errors + warnings > 0) {
    await vscode.commands.executeCommand('workbench.actions.view.problems');
    void vscode.window.showWarningMessage(summary);
  } else void vscode.window.showInformationMessage(summary);
};
