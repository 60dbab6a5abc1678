// Chart tables from run events: one x axis (the optimiser step) and named series with null where
// a series has no point at that step (metrics come once an epoch, progress every few steps).
// Later events at a step replace earlier ones, so a resumed run overwrites the replayed steps.
// eval events repeat the val metrics of the same step, so they add no series
import type { KnownEvent, RunEvent } from '../../src/core/runs/events';

export type ChartId = 'loss' | 'accuracy' | 'throughput' | 'resources';

export interface ChartTable {
  x: number[];
  series: Array<{ label: string; values: Array<number | null> }>;
}

const STAGE = (k: string) => k.replace(/^s(\d)$/, 'stage $1');

export class SeriesStore {
  private readonly charts = new Map<ChartId, Map<string, Map<number, number>>>();
  /** Bumped on every change, so the page redraws only what changed. */
  version = 0;
  lastStep = 0;

  clear(): void {
    this.charts.clear();
    this.version++;
    this.lastStep = 0;
  }

  private put(chart: ChartId, label: string, step: number, v: unknown): void {
    if (typeof v !== 'number' || !Number.isFinite(v)) return;
    let c = this.charts.get(chart);
    if (!c) this.charts.set(chart, (c = new Map()));
    let s = c.get(label);
    if (!s) c.set(label, (s = new Map()));
    s.set(step, v);
  }

  add(e: RunEvent): void {
    const k = e as KnownEvent;
    switch (k.type) {
      case 'progress':
        this.lastStep = k.step;
        this.put('loss', 'train loss', k.step, k.loss);
        this.put('throughput', 'images/s', k.step, k.images_per_s);
        this.put('resources', 'GPU %', k.step, k.gpu_util);
        this.put('resources', 'CPU %', k.step, k.cpu_util);
        break;
      case 'metrics': {
        this.lastStep = Math.max(this.lastStep, k.step);
        const split = k.split;
        if (split !== 'train') this.put('loss', `${split} loss`, k.step, k.loss);
        for (const [stage, v] of Object.entries(k.stage_loss ?? {})) this.put('loss', `${split} ${STAGE(stage)}`, k.step, v);
        for (const [name, v] of Object.entries(k.acc ?? {})) this.put('accuracy', `${split} ${name.replace('top', 'top-')}`, k.step, v);
        for (const [stage, v] of Object.entries(k.stage_acc ?? {})) this.put('accuracy', `${split} ${STAGE(stage)}`, k.step, v);
        break;
      }
      default:
        return;
    }
    this.version++;
  }

  labels(chart: ChartId): string[] {
    return [...(this.charts.get(chart)?.keys() ?? [])];
  }

  table(chart: ChartId): ChartTable {
    const c = this.charts.get(chart);
    if (!c) return { x: [], series: [] };
    const steps = new Set<number>();
    for (const s of c.values()) for (const step of s.keys()) steps.add(step);
    const x = [...steps].sort((a, b) => a - b);
    return { x, series: [...c.entries()].map(([label, s]) => ({ label, values: x.map((step) => s.get(step) ?? null) })) };
  }
}
