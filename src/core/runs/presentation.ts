// What the runs view and the status bar show for a run, so the extension only maps these to
// TreeItem / StatusBarItem fields. Codicon names are VS Code's (`$(name)` in labels).
import { formatDuration, progressFraction, type RunProgress } from './summary';
import type { RunStatus, RunStatusInfo } from './status';

export interface RunRow {
  label: string;
  /** e.g. "running 42% · 3m 05s · best 81.2%" */
  description: string;
  tooltip: string;
  /** Codicon id for the tree item's icon. */
  icon: string;
  /** TreeItem.contextValue: `run.<status>` plus `.eval` / `.checkpoint` when those exist, for menus. */
  contextValue: string;
}

const ICONS: Record<RunStatus, string> = {
  running: 'sync~spin',
  finished: 'pass',
  failed: 'error',
  stopped: 'debug-pause',
  unknown: 'question',
};

const pct1 = (x: number) => `${(x * 100).toFixed(1)}%`;

export function runRow(run: { name: string; status: RunStatusInfo; progress: RunProgress; hasEval?: boolean; hasCheckpoint?: boolean }): RunRow {
  const { status, progress } = run;
  const f = progressFraction(progress);
  const parts = [status.status === 'running' && f !== undefined ? `running ${Math.floor(f * 100)}%` : status.status, formatDuration(status.elapsedS)];
  if (progress.bestTop1 !== undefined) parts.push(`best ${pct1(progress.bestTop1)}`);
  const tip = [`${run.name}: ${status.status}`];
  if (status.reason) tip.push(status.reason);
  if (progress.step !== undefined) tip.push(`step ${progress.step}${progress.totalSteps ? ` of ${progress.totalSteps}` : ''}${progress.epochs ? `, epoch ${Math.min((progress.epoch ?? 0) + 1, progress.epochs)} of ${progress.epochs}` : ''}`);
  if (progress.device) tip.push(`device: ${progress.device}${progress.worldSize && progress.worldSize > 1 ? ` × ${progress.worldSize}` : ''}`);
  tip.push(`elapsed ${formatDuration(status.elapsedS)}`);
  if (progress.bestTop1 !== undefined) tip.push(`best top-1 ${pct1(progress.bestTop1)}`);
  const ctx = [`run.${status.status}`, run.hasEval ? 'eval' : '', run.hasCheckpoint ? 'checkpoint' : ''].filter(Boolean).join('.');
  return { label: run.name, description: parts.join(' · '), tooltip: tip.join('\n'), icon: ICONS[status.status], contextValue: ctx };
}

/** Status bar text for a running run: "$(sync~spin) cub-rn50 42% · ETA 3m 05s". */
export function statusBarText(name: string, progress: RunProgress): { text: string; tooltip: string } {
  const f = progressFraction(progress);
  const eta = progress.etaS !== undefined ? ` · ETA ${formatDuration(progress.etaS)}` : '';
  const loss = progress.loss !== undefined ? `, loss ${Number(progress.loss.toPrecision(4))}` : '';
  return {
    text: `$(sync~spin) ${name} ${f !== undefined ? `${Math.floor(f * 100)}%` : 'starting'}${eta}`,
    tooltip: `PSCL training ${name}: step ${progress.step ?? 0}${progress.totalSteps ? `/${progress.totalSteps}` : ''}${loss}. Click for the dashboard.`,
  };
}

/** One line of CLI progress: "step 42/100 (42%) · epoch 2/5 · loss 0.1235 · 320 img/s · ETA 4m 10s". */
export function progressLine(p: RunProgress): string {
  const f = progressFraction(p);
  const parts = [`step ${p.step ?? 0}${p.totalSteps ? `/${p.totalSteps}` : ''}${f !== undefined ? ` (${Math.floor(f * 100)}%)` : ''}`];
  if (p.epochs) parts.push(`epoch ${Math.min((p.epoch ?? 0) + 1, p.epochs)}/${p.epochs}`);
  if (p.loss !== undefined && p.loss !== null) parts.push(`loss ${Number(p.loss.toPrecision(4))}`);
  if (p.imagesPerS !== undefined) parts.push(`${Math.round(p.imagesPerS)} img/s`);
  if (p.etaS !== undefined) parts.push(`ETA ${formatDuration(p.etaS)}`);
  return parts.join(' · ');
}
