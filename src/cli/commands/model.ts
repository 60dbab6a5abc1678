// `pscl model fetch`: resolves a CLIP model (Hub repo id or local folder) into the cache and
// prints its local folder on stdout; progress goes to stderr.
import { describeDownloadProgress, resolveModel, type DownloadProgress } from '../../core/clip/download';
import { defaultModelCacheDir, DEFAULT_CLIP_MODEL } from '../../core/clip/hub';
import { PsclError } from '../../core/errors';
import { CliError, parseOptions, type Command } from '../command';

const help = `usage: pscl model fetch REPO_OR_DIR [--cache DIR] [--revision R] [--endpoint URL] [--offline]

Downloads a CLIP model from the Hugging Face Hub into the cache (or checks a local folder) and
prints the local folder. Interrupted downloads resume; Ctrl-C keeps what arrived.

  REPO_OR_DIR       a Hub repo id (e.g. ${DEFAULT_CLIP_MODEL}) or a local folder
  --cache DIR       model cache (default ${defaultModelCacheDir()})
  --revision R      branch, tag or commit (default main)
  --endpoint URL    Hub base URL (default PSCL_HF_ENDPOINT or https://huggingface.co)
  --offline         use the cache only

HF_TOKEN is sent to the Hub when set (gated or private repos).`;

/** Progress on stderr: one rewritten line on a terminal, a line every few seconds otherwise. */
function progressPrinter(stream: NodeJS.WriteStream): { update(p: DownloadProgress): void; end(): void } {
  let last = 0;
  let lastPhase = '';
  let shown = false;
  return {
    update(p) {
      const line = describeDownloadProgress(p);
      if (stream.isTTY) {
        stream.write(`\r\x1b[K${line}`);
        shown = true;
        return;
      }
      const now = Date.now();
      if (p.phase !== lastPhase || p.phase === 'done' || now - last > 3000) {
        stream.write(`${line}\n`);
        last = now;
        lastPhase = p.phase;
      }
    },
    end() {
      if (shown) stream.write('\n');
    },
  };
}

async function fetch(argv: string[]): Promise<number> {
  const { values, positionals } = parseOptions(
    'model fetch',
    argv,
    {
      cache: { type: 'string' },
      revision: { type: 'string' },
      endpoint: { type: 'string' },
      offline: { type: 'boolean' },
    },
    true,
  );
  if (positionals.length !== 1) throw new CliError(`model fetch: give one REPO_OR_DIR\n\n${help}`);
  const abort = new AbortController();
  const onSigint = () => abort.abort();
  process.once('SIGINT', onSigint);
  const printer = progressPrinter(process.stderr);
  try {
    const r = await resolveModel(positionals[0], {
      cacheDir: values.cache ?? defaultModelCacheDir(),
      revision: values.revision,
      endpoint: values.endpoint,
      offline: values.offline,
      signal: abort.signal,
      onProgress: (p) => printer.update(p),
    });
    printer.end();
    if (r.source === 'cache') process.stderr.write(`already in the cache\n`);
    process.stdout.write(`${r.dir}\n`);
    return 0;
  } catch (err) {
    printer.end();
    if (err instanceof PsclError) throw new CliError(err.message, err.kind === 'cancelled' ? 130 : err.kind === 'input' ? 2 : 1);
    throw err;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

export const command: Command = {
  help,
  subcommands: ['fetch'],
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub === 'fetch') return fetch(rest);
    throw new CliError(`model: unknown subcommand '${sub ?? ''}'\n\n${help}`);
  },
};
