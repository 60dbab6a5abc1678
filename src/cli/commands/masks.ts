import { existsSync } from 'node:fs';
import path from 'node:path';
import { VARIANT_NAMES } from '../../core/clip';
import { exportPartMasks } from '../../core/masks/export';
import { MaskSession } from '../../core/masks/session';
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
  --coarse NAME          coarse category whose parts to use (default: the only one in the project)
  --variant V            ${VARIANT_NAMES.join(' | ')} or attn=..,residual=on|off,ffn=on|off (default clearclip)
  --size N               long side of the encoder input, pixels (default 448)
  --kernel K             odd closing kernel; 1 = no closing (default 3)
  --threshold P          background below this part probability (default 0 = off)
  --background TEXT      a background prompt (repeatable)
  --sliding-window       tile the image with windows of the model's trained size
  --model DIR            a Hugging Face CLIP folder (default: $PSCL_CLIP_MODEL, else the demo model)`;

function numberOption(name: string, value: string | undefined, fallback: number, check: (n: number) => boolean, what: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || !check(n)) throw new CliError(`masks: --${name} ${value}: ${what}`);
  return n;
}

export const command: Command = {
  help,
  async run(argv) {
    const { values } = parseOptions('masks', argv, {
      project: { type: 'string' },
      image: { type: 'string' },
      out: { type: 'string', default: '.' },
      coarse: { type: 'string' },
      variant: { type: 'string', default: 'clearclip' },
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
    const size = numberOption('size', values.size, 448, (n) => Number.isInteger(n) && n >= 16 && n <= 4096, 'give an integer between 16 and 4096');
    const kernel = numberOption('kernel', values.kernel, 3, (n) => Number.isInteger(n) && n >= 1 && n % 2 === 1, 'give an odd integer (1 disables the closing)');
    const threshold = numberOption('threshold', values.threshold, 0, (n) => n >= 0 && n <= 1, 'give a probability between 0 and 1');
    const coarseNames = Object.keys(project.parts);
    const coarse = values.coarse ?? (coarseNames.length === 1 ? coarseNames[0] : undefined);
    if (!coarse) {
      throw new CliError(
        coarseNames.length === 0
          ? `masks: ${path.basename(file)} has no parts; add parts for a coarse category first`
          : `masks: --coarse is required: ${path.basename(file)} has parts for ${coarseNames.join(', ')}`,
      );
    }
    if (!project.parts[coarse]) throw new CliError(`masks: no parts for coarse category '${coarse}' (parts exist for: ${coarseNames.join(', ') || 'none'})`);

    const resolved = await resolveModel('masks', values.model);
    const model = await loadModel('masks', resolved);
    try {
      const session = new MaskSession(model);
      const settings = { variant: values.variant, size, kernel, threshold, slidingWindow: values['sliding-window'], backgroundPrompts: values.background ?? [] };
      const masks = await session.compute(project, coarse, image, settings).catch((err: Error) => {
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
        settings: { ...settings, coarse, project: file },
        modelId: resolved.id,
        image,
      });
      const npy = path.join(out, `${base}.probabilities.npy`);
      writeNpy(npy, { shape: [masks.gridHeight, masks.gridWidth, masks.probabilities.length / (masks.gridHeight * masks.gridWidth)], data: masks.probabilities });
      const lines = [
        `${path.relative(process.cwd(), image) || image}: ${masks.labels.width}x${masks.labels.height} label map, ${masks.parts.length} parts of '${coarse}', ${values.variant}, ${Math.round(masks.timing.ms)} ms (model ${model.provider.provider})`,
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
