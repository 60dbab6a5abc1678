// Realistic run events for the webview tests: a short two-stage-logged run with loss falling and
// accuracy rising, as the trainer would write them.
import type { RunEvent } from '../../../src/core/runs/events';
import type { DashboardRun } from '../../../src/core/runs/dashboardProtocol';

export const T0 = 1_750_000_000;

export function startEvent(): RunEvent {
  return { type: 'start', time: T0, run: 'cub-rn50', device: 'cuda', world_size: 2, epochs: 4, steps_per_epoch: 50, total_steps: 200, resumed_from: null, config: { backbone: 'resnet50' } };
}

/** Progress every 5 steps and train/val metrics + a checkpoint at each epoch end, for steps (from, to]. */
export function trainingEvents(from: number, to: number): RunEvent[] {
  const out: RunEvent[] = [];
  for (let step = from + 1; step <= to; step++) {
    const time = T0 + step * 1.5;
    const epoch = Math.floor((step - 1) / 50);
    if (step % 5 === 0) {
      out.push({ type: 'progress', time, epoch, step, total_steps: 200, loss: 3 * Math.exp(-step / 60) + 0.2 + 0.05 * Math.sin(step), lr: 1e-4 * (1 - step / 250), images_per_s: 180 + 10 * Math.sin(step / 7), eta_s: (200 - step) * 1.5, gpu_util: 85 + 5 * Math.sin(step / 9), cpu_util: 40 });
    }
    if (step % 50 === 0) {
      const ep = step / 50;
      const l = 3 * Math.exp(-step / 60) + 0.2;
      out.push({ type: 'metrics', time, epoch: ep, step, split: 'train', loss: l, stage_loss: { s2: l * 1.4, s3: l * 1.2, s4: l }, acc: { top1: 1 - 0.8 * Math.exp(-ep / 1.5) }, stage_acc: { s4: 1 - 0.8 * Math.exp(-ep / 1.5) } });
      out.push({ type: 'metrics', time, epoch: ep, step, split: 'val', loss: l * 1.15, acc: { top1: 0.9 - 0.75 * Math.exp(-ep / 1.5), top5: 0.98 - 0.5 * Math.exp(-ep / 1.5) } });
      out.push({ type: 'checkpoint', time, epoch: ep, step, path: `checkpoints/epoch${ep}.safetensors` });
    }
  }
  return out;
}

export function runInfo(status: DashboardRun['status']['status'], extra: Partial<DashboardRun> = {}): DashboardRun {
  return { name: 'cub-rn50', dir: '/work/runs/cub-rn50', status: { status, elapsedS: 240 }, canStop: status === 'running', canResume: status === 'stopped', hasEval: false, ...extra };
}
