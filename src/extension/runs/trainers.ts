// The trainers this window started: launching (TrainerProcess, own process group), stopping
// (ours directly, an earlier window's through its run.lock), the status bar while one trains,
// exporting model.onnx when a run finishes, and SIGTERM to all of them on deactivate.
import { existsSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import {
  choosePython,
  emptyProgress,
  exportRunModel,
  foldEvent,
  ONNX_FILE,
  statusBarText,
  stopRunFromLock,
  TrainerProcess,
  type RunProgress,
  type TrainerExit,
  type TrainerLaunchOptions,
} from '../../core/runs';
import type { Services } from '../services';

/** The interpreter: pscl.python, else the Python extension's selected one, else python3 (choosePython). */
export async function resolvePython(ctx: Services): Promise<string> {
  return choosePython(ctx.config.python, ctx.config.python ? undefined : await pythonExtensionInterpreter(ctx));
}

/** The interpreter the Python extension has selected for the workspace, if it is installed and says. */
async function pythonExtensionInterpreter(ctx: Services): Promise<string | undefined> {
  const ext = vscode.extensions.getExtension('ms-python.python');
  if (!ext) return undefined;
  try {
    const api = (await ext.activate()) as { environments?: { getActiveEnvironmentPath(): { path: string }; resolveEnvironment(p: { path: string }): Promise<{ executable?: { uri?: vscode.Uri } } | undefined> } };
    const active = api.environments?.getActiveEnvironmentPath();
    if (!active) return undefined;
    const env = await api.environments!.resolveEnvironment(active);
    return env?.executable?.uri?.fsPath ?? active.path;
  } catch (err) {
    ctx.log.warn(`the Python extension did not name an interpreter (${(err as Error).message}); using python3`);
    return undefined;
  }
}

export function trainerPath(ctx: Services): string {
  return path.join(ctx.extension.extensionPath, 'trainer');
}

interface Live {
  process: TrainerProcess;
  name: string;
  progress: RunProgress;
}

export class Trainers implements vscode.Disposable {
  private readonly live = new Map<string, Live>();
  private readonly bar = vscode.window.createStatusBarItem('pscl.training', vscode.StatusBarAlignment.Left, 50);
  private readonly changed = new vscode.EventEmitter<string>();
  /** Fires with the run folder when one of our trainers reports something or exits. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly ctx: Services) {
    this.bar.name = 'PSCL training';
  }

  isOurs(runDir: string): boolean {
    return this.live.has(runDir);
  }

  async start(name: string, options: Omit<TrainerLaunchOptions, 'python' | 'trainerPath' | 'stopGraceMs'>): Promise<TrainerProcess> {
    const python = await resolvePython(this.ctx);
    const entry: Live = { name, progress: emptyProgress() } as Live;
    const proc = await TrainerProcess.start(
      { ...options, python, trainerPath: trainerPath(this.ctx), stopGraceMs: this.ctx.config.stopGraceSeconds * 1000 },
      {
        onEvent: (e) => {
          foldEvent(entry.progress, e);
          this.updateBar();
          if (e.type !== 'progress') this.changed.fire(options.runDir);
        },
        onOtherOutput: (line) => this.ctx.log.info(`[trainer ${name}] ${line}`),
      },
    );
    entry.process = proc;
    this.live.set(options.runDir, entry);
    this.ctx.log.info(`trainer ${name} started: pid ${proc.pid}, ${options.runDir}`);
    this.updateBar();
    void proc.exited.then((exit) => this.exited(options.runDir, name, exit));
    return proc;
  }

  /** Graceful stop (checkpoint first); a run an earlier window started is stopped through run.lock. */
  async stop(runDir: string): Promise<string> {
    const ours = this.live.get(runDir);
    if (ours) return (await ours.process.stop()).status;
    return stopRunFromLock(runDir, this.ctx.config.stopGraceSeconds * 1000);
  }

  private async exited(runDir: string, name: string, exit: TrainerExit): Promise<void> {
    this.live.delete(runDir);
    this.updateBar();
    this.changed.fire(runDir);
    this.ctx.log.info(`trainer ${name} ended: ${exit.status}${exit.reason ? `: ${exit.reason}` : ''}`);
    if (exit.status === 'failed') {
      const pick = await vscode.window.showErrorMessage(`Training ${name} failed: ${exit.reason ?? 'see train.log'}`, 'Open Log', 'Open Dashboard');
      if (pick === 'Open Log') void vscode.window.showTextDocument(vscode.Uri.file(path.join(runDir, 'train.log')));
      if (pick === 'Open Dashboard') void vscode.commands.executeCommand('pscl.runs.openDashboard', runDir);
      return;
    }
    if (exit.status === 'finished' && !existsSync(path.join(runDir, ONNX_FILE))) {
      // Classify Image needs model.onnx: export it now, while the user looks at the results
      try {
        await exportRunModel({ python: await resolvePython(this.ctx), trainerPath: trainerPath(this.ctx), runDir });
        this.changed.fire(runDir);
      } catch (err) {
        this.ctx.log.warn(`${name}: ${(err as Error).message}`);
      }
    }
    if (exit.status === 'finished') void vscode.window.showInformationMessage(`Training ${name} finished.`);
  }

  private updateBar(): void {
    const runs = [...this.live.entries()];
    if (runs.length === 0) {
      this.bar.hide();
      return;
    }
    const [dir, first] = runs[0]!;
    const t = statusBarText(first.name, first.progress);
    this.bar.text = runs.length > 1 ? `${t.text} (+${runs.length - 1})` : t.text;
    this.bar.tooltip = t.tooltip;
    this.bar.command = { title: 'Open Dashboard', command: 'pscl.runs.openDashboard', arguments: [dir] };
    this.bar.show();
  }

  dispose(): void {
    // deactivate: SIGTERM every trainer without waiting; each checkpoints and writes `end: stopped`
    TrainerProcess.requestStopAll();
    this.bar.dispose();
    this.changed.dispose();
  }
}
