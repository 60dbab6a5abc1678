import { existsSync } from 'node:fs';
import path from 'node:path';
import { VARIANT_NAMES } from '../../core/clip';
import { exportPartMasks } from '../../core/masks/export';
import { MaskSession, partsCategory } from '../../core/masks/session';
import { MASK_DEFAULTS, MASK_LIMITS, maskSettingProblem, maskSettings, type LimitedSetting, type MaskSettings } from '../../core/masks/settings';
import { writeNpy } from '../../core/util/npy';
import { CliError, parseOptions, required, type Command } from '../command';
import { loadModel, resolveModel } from '../model';
import { loadProjectOrFail } from '../project';

const help = `usage: pscl masks --project FILE.pscl.json --image IMG [options]

Computes ClearCLIP part masks for one image with the project's part prompts and templates (the
same pipeline as the preview and the training cache) and writes into --out:
  <image>.labels.png         8-bit label map (0 = background, k = part k)
  <image>.overlay.png        the image with the parts coloured
  <image>.legend.json        parts, prompts, colours, area and regions per part, settings
  <image>.probabilities.npy  float32 [gridH, gridW, prompts]: softmax over the prompts per patch

options:
  --out DIR              output folder (default: current folder)
  --coarse NAME          coarse category whose parts to use (default: the first with parts)
  --variant V            ${VARIANT_NAMES.join(' | ')} or attn=..,residual=on|off,ffn=on|off (default ${MASK_DEFAULTS.variant})
  --size N               long side of the encoder input, pixels, ${MASK_LIMITS.size.min} to ${MASK_LIMITS.size.max} (default ${MASK_DEFAULTS.size})
  --kernel K             odd closing kernel; 1 = no closing (default ${MASK_DEFAULTS.kernel})
  --threshold P          background below this part probability (default ${MASK_DEFAULTS.threshold} = off)
  --background TEXT      a background prompt (repeatable)
  --sliding-window       tile the image with windows of the model's trained size
  --model DIR|REPO       a Hugging Face CLIP folder or Hub repo id (default: $PSCL_CLIP_MODEL, else the demo model)`;

/** A mask setting given on the command line, checked against its range (undefined: the default applies). */
function settingOption(name: string, setting: LimitedSetting, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const problem = maskSettingProblem(setting, Number(value));
  if (problem) throw new CliError(`masks: --${name} ${value}: ${problem}`);
  return Number(value);
}

export const command: Command = {
  help,
  async run(argv) {
    const { values } = parseOptions('masks', argv, {
      project: { type: 'string' },
      image: { type: 'string' },
      out: { type: 'string', default: '.' },
      coarse: { type: 'string' },
      variant: { type: 'string' },
      size: { type: 'string' },
      kernel: { type: 'string' },
      threshold: { type: 'string' },
      background: { type: 'string', multiple: true },
      'sliding-window': { type: 'boolean', default: false },
      model: { type: 'string' },
    });
    const { project, file } = await loadProjectOrFail('masks', required('masks', 'project', values.project));
    const image = path.resolve(required('masks', 'image', values.image));
    if (!existsSync(image)) throw new CliError(`masks: image ${values.image} not found`, 1);
    const size = settingOption('size', 'size', values.size);
    const kernel = settingOption('kernel', 'kernel', values.kernel);
    const threshold = settingOption('threshold', 'threshold', values.threshold);
    let settings: MaskSettings;
    try {
      settings = maskSettings({ variant: values.variant, size, kernel, threshold, slidingWindow: values['sliding-window'] });
    } catch (err) {
      throw new CliError(`masks: ${(err as Error).message}`);
    }
    const background = values.background ?? [];
    let coarse: string;
    try {
      const picked = partsCategory(project, values.coarse);
      coarse = picked.coarse;
      if (picked.others.length > 0) process.stderr.write(`masks: using the parts of '${coarse}' (parts exist for ${picked.others.join(', ')} too); pass --coarse to choose\n`);
    } catch (err) {
      throw new CliError(`masks: ${path.basename(file)}: ${(err as Error).message}`);
    }

    const resolved = await resolveModel('masks', values.model);
    const model = await loadModel('masks', resolved);
    try {
      const session = new MaskSession(model);
      const masks = await session.compute(project, coarse, image, { ...settings, backgroundPrompts: background }).catch((err: Error) => {
        throw new CliError(`masks: ${err.message}`, 1);
      });
      const out = path.resolve(values.out!);
      const base = path.basename(image).replace(/\.[^.]+$/, '');
      const written = await exportPartMasks({
        dir: out,
        base,
        labels: masks.labels,
        parts: masks.parts.map((p) => ({ label: p.label, name: p.name, prompts: p.texts })),
        stats: masks.stats,
        settings: { variant: settings.variant, size: settings.size, kernel: settings.kernel, threshold: settings.threshold, slidingWindow: settings.slidingWindow, backgroundPrompts: background, coarse, project: file },
        modelId: resolved.id,
        image,
      });
      const npy = path.join(out, `${base}.probabilities.npy`);
      writeNpy(npy, { shape: [masks.gridHeight, masks.gridWidth, masks.probabilities.length / (masks.gridHeight * masks.gridWidth)], data: masks.probabilities });
      const lines = [
        `${path.relative(process.cwd(), image) || image}: ${masks.labels.width}x${masks.labels.height} label map, ${masks.parts.length} parts of '${coarse}', ${settings.variant}, ${Math.round(masks.timing.ms)} ms (model ${model.provider.provider})`,
        ...masks.parts.map((p, i) => `  ${String(p.label).padStart(2)} ${p.name.padEnd(18)} ${(masks.stats[i].areaFraction * 100).toFixed(1).padStart(5)}%  ${masks.stats[i].components} region(s)`),
        `wrote ${[written.labelMap, written.overlay, written.legend, npy].filter(Boolean).map((f) => path.relative(process.cwd(), f!) || f).join(', ')}`,
      ];
      process.stdout.write(lines.join('\n') + '\n');
      return 0;
    } finally {
      await model.dispose();
    }
  },
};
