// `pscl classify`: top-N classes of one image from a run's exported model (the Classify Image twin).
import { existsSync } from 'node:fs';
import path from 'node:path';
import { exportRunModel, findTrainerPath, ONNX_FILE, predictionPath, RunClassifier } from '../../core/runs';
import { CliError, type Command, parseOptions, pythonFrom, required } from '../command';

const help = `usage: pscl classify --run DIR --image IMG [--top N] [--json] [--python PATH]

Classifies IMG with the run's model.onnx (onnxruntime, CPU), preprocessed exactly as the trainer
evaluates. A finished run without model.onnx is exported first with the trainer's export
(--python, $PSCL_PYTHON or python3, with PyTorch).
--top   how many classes to print (default 5)
--json  one JSON object: {image, run, predictions: [{index, id, name, path, logit, prob}]}`;

export const command: Command = {
  help,
  async run(argv) {
    const { values } = parseOptions('classify', argv, {
      run: { type: 'string' },
      image: { type: 'string' },
      top: { type: 'string', default: '5' },
      json: { type: 'boolean', default: false },
      python: { type: 'string' },
    });
    const runDir = path.resolve(required('classify', 'run', values.run));
    const image = path.resolve(required('classify', 'image', values.image));
    const top = Number(values.top);
    if (!Number.isInteger(top) || top < 1) throw new CliError(`classify: --top must be a positive integer, got ${values.top}`);
    if (!existsSync(runDir)) throw new CliError(`classify: ${runDir}: no such run folder`);
    if (!existsSync(image)) throw new CliError(`classify: ${image}: image not found`);
    if (!existsSync(path.join(runDir, ONNX_FILE))) {
      const trainerPath = findTrainerPath(__dirname);
      if (!trainerPath) throw new CliError('classify: the run has no model.onnx and the trainer package was not found to export it; set PSCL_TRAINER_PATH');
      process.stderr.write(`classify: ${path.basename(runDir)} has no ${ONNX_FILE}; exporting it with the trainer\n`);
      await exportRunModel({ python: pythonFrom(values.python), trainerPath, runDir }).catch((err: Error) => {
        throw new CliError(`classify: ${err.message}`);
      });
    }
    let clf: RunClassifier;
    try {
      clf = await RunClassifier.load(runDir);
    } catch (err) {
      throw new CliError(`classify: ${(err as Error).message}`);
    }
    try {
      const preds = await clf.classify(image, top).catch((err: Error) => {
        throw new CliError(`classify: ${err.message}`);
      });
      if (values.json) {
        process.stdout.write(JSON.stringify({ image, run: runDir, predictions: preds }) + '\n');
      } else {
        process.stdout.write(`${path.basename(image)} (${path.basename(runDir)}):\n`);
        preds.forEach((p, i) => process.stdout.write(`${String(i + 1).padStart(2)}. ${(p.prob * 100).toFixed(1).padStart(5)}%  ${predictionPath(p, clf.model.levels)}\n`));
      }
      return 0;
    } finally {
      await clf.dispose();
    }
  },
};
