import { psclCacheDir } from '../../core/util/cacheDir';
import { promises as fs } from 'node:fs';
import { writeFileAtomic } from '../../core/util/atomicWrite';
import { LlmError } from '../../core/llm/client';
import { describeSuggestion } from '../../core/llm/describe';
import { SuggestionReview } from '../../core/llm/review';
import { SUGGESTION_KINDS, type SuggestionKind } from '../../core/llm/schemas';
import { suggest } from '../../core/llm/suggest';
import type { SuggestResult } from '../../core/llm/types';
import { CliError, parseOptions, required, type Command } from '../command';
import { loadProjectOrFail } from '../project';
import { unifiedDiff } from '../textDiff';

const help = `usage: pscl suggest {intermediate|parts|descriptions} --project FILE [options]

Asks an OpenAI-compatible LLM for suggestions, validates every item, and shows them with the
change they would make to the project file. Nothing is written without --apply.

  intermediate   new intermediate levels (nested or facet) grouping the fine classes
  parts          parts and phrasings for a coarse category (--coarse when there are several)
  descriptions   short visual descriptions of classes

options:
  --project FILE        the .pscl.json project file (required)
  --classes ID,ID,...   only these fine classes (default: all)
  --coarse NAME         coarse category for 'parts'
  --base-url URL        server, e.g. http://localhost:11434/v1 (or PSCL_LLM_BASE_URL)
  --model NAME          model name (or PSCL_LLM_MODEL)
  --temperature T       0..2 (default 0.2)
  --timeout S           seconds for the whole request, retries and waits included (default 120)
  --max-retries N       retries on 429/5xx/dropped connections (default 2; a server's Retry-After
                        is honoured up to 60 s and within --timeout, else the command gives up)
  --cache-dir DIR       reply cache (default $XDG_CACHE_HOME/pscl/llm or ~/.cache/pscl/llm)
  --no-cache            always ask the server
  --verbose             log each HTTP request and response (the key is never shown)
  --accept ID,ID,...    the suggestions to apply (default: all of them)
  --apply               write the accepted suggestions to the file (atomically); refused, leaving
                        the file as it was, unless every accepted suggestion validated

The API key comes from PSCL_LLM_API_KEY or OPENAI_API_KEY (never from an option, never printed).
Exit status: 0 done, 1 the LLM or validation failed (file unchanged), 2 usage or configuration.`;

function list(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter(Boolean);
}

function number(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new CliError(`suggest: --${name} must be a non-negative number, not '${value}'`);
  return n;
}

function defaultCacheDir(): string {
  return psclCacheDir('llm');
}

export const command: Command = {
  help,
  subcommands: [...SUGGESTION_KINDS],
  async run(argv) {
    const { values, positionals } = parseOptions(
      'suggest',
      argv,
      {
        project: { type: 'string' },
        classes: { type: 'string' },
        coarse: { type: 'string' },
        'base-url': { type: 'string' },
        model: { type: 'string' },
        temperature: { type: 'string' },
        timeout: { type: 'string' },
        'max-retries': { type: 'string' },
        'cache-dir': { type: 'string' },
        'no-cache': { type: 'boolean', default: false },
        verbose: { type: 'boolean', default: false },
        accept: { type: 'string' },
        apply: { type: 'boolean', default: false },
      },
      true,
    );
    const kind = positionals[0] as SuggestionKind | undefined;
    if (!kind || !SUGGESTION_KINDS.includes(kind) || positionals.length > 1) {
      throw new CliError(`suggest: say what to suggest: ${SUGGESTION_KINDS.join(', ')}\nrun 'pscl suggest --help' for its options`);
    }
    const file = required('suggest', 'project', values.project);
    const { text, project } = await loadProjectOrFail('suggest', file, 'syntax');
    const temperature = number('temperature', values.temperature);
    const timeout = number('timeout', values.timeout);
    const maxRetries = number('max-retries', values['max-retries']);

    const controller = new AbortController();
    const onSigint = () => controller.abort();
    process.once('SIGINT', onSigint);
    let result: SuggestResult;
    try {
      result = await suggest(
        kind,
        project,
        {
          settings: {
            baseUrl: values['base-url'] ?? process.env.PSCL_LLM_BASE_URL,
            model: values.model ?? process.env.PSCL_LLM_MODEL,
            ...(temperature !== undefined ? { temperature } : {}),
            ...(timeout !== undefined ? { timeoutMs: timeout * 1000 } : {}),
            ...(maxRetries !== undefined ? { maxRetries: Math.floor(maxRetries) } : {}),
          },
          apiKey: process.env.PSCL_LLM_API_KEY || process.env.OPENAI_API_KEY || undefined,
          classes: list(values.classes),
          coarse: values.coarse,
          cacheDir: values['no-cache'] ? undefined : values['cache-dir'] ?? defaultCacheDir(),
          log: (line) => process.stderr.write(`pscl: ${line}\n`),
          logLevel: values.verbose ? 'debug' : 'warn',
        },
        { signal: controller.signal, onProgress: (p) => p.message !== 'done' && process.stderr.write(`pscl: ${p.message}\n`) },
      );
    } catch (err) {
      if (err instanceof LlmError) {
        const usage = err.code === 'not-configured' || err.code === 'input';
        throw new CliError(`suggest: ${err.message}${usage ? '' : `\n${file} was not changed.`}`, usage ? 2 : err.code === 'cancelled' ? 130 : 1);
      }
      throw err;
    } finally {
      process.off('SIGINT', onSigint);
    }
    return report(file, text, project.classes, result, list(values.accept), values.apply);
  },
};

async function report(
  file: string,
  text: string,
  classes: ReadonlyArray<{ id: string; name: string }>,
  result: SuggestResult,
  accept: string[] | undefined,
  apply: boolean,
): Promise<number> {
  const out = (s = '') => process.stdout.write(s + '\n');
  const names = new Map(classes.map((c) => [c.id, c.name]));
  const source = result.cached ? 'from the cache' : `${result.requests} request${result.requests === 1 ? '' : 's'}`;
  out(`${result.suggestions.length} suggestion${result.suggestions.length === 1 ? '' : 's'}, ${result.rejected.length} rejected (${source})`);
  for (const s of result.suggestions) {
    const d = describeSuggestion(s, names);
    out(`\n[${s.id}] ${d.label}`);
    for (const line of d.details) out(`    ${line}`);
  }
  if (result.rejected.length > 0) {
    out('\nrejected:');
    for (const r of result.rejected) out(`  ${r.item}: ${r.reason}`);
  }

  const review = new SuggestionReview(result);
  if (accept) {
    try {
      review.acceptOnly(accept);
    } catch (err) {
      throw new CliError(`suggest: --accept: ${(err as Error).message}\n${file} was not changed.`, 1);
    }
  } else review.acceptAll();
  const outcome = review.toEdits(text);
  if (!outcome.ok) {
    out('\nthe accepted suggestions cannot be applied:');
    for (const r of outcome.reasons) out(`  ${r}`);
    out(`${file} was not changed.`);
    return 1;
  }
  if (outcome.applied.length === 0) {
    out(`\nnothing to apply; ${file} was not changed.`);
    return result.suggestions.length === 0 ? 1 : 0;
  }
  out('');
  out(unifiedDiff(text, outcome.newText, { a: `${file}`, b: `${file} (with ${outcome.applied.join(', ')})` }).trimEnd());
  if (!apply) {
    out(`\nnot written: run again with --apply${accept ? '' : ' (and --accept ID,... to choose)'} to change ${file}.`);
    return 0;
  }
  if (!accept && result.rejected.length > 0) {
    out(`\n${result.rejected.length} item${result.rejected.length === 1 ? ' was' : 's were'} rejected, so not every suggestion validated; ${file} was not changed.`);
    out(`apply the valid ones with --accept ${outcome.applied.join(',')}`);
    return 1;
  }
  if ((await fs.readFile(file).catch(() => undefined))?.equals(Buffer.from(text, 'utf8')) !== true) {
    out(`\n${file} changed while the LLM was answering; it was not written. Run the command again.`);
    return 1;
  }
  await writeFileAtomic(file, outcome.newText);
  out(`\nwrote ${file} (${outcome.applied.join(', ')})`);
  return 0;
}
