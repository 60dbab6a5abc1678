// progress.jsonl: one line per mask, appended after the mask file is in place (atomic rename), so
// after a kill the next build knows exactly which masks are complete. A torn last line (killed
// mid-append) is ignored and never glued to the next entry.
import { appendFileSync, closeSync, existsSync, openSync, promises as fs, readSync, statSync } from 'node:fs';
import type { SourceStamp } from './manifest';

export interface JournalEntry {
  key: string;
  path: string;
  coarse: string;
  /** The cache's masks hash when the entry was made. */
  masksHash: string;
  source: SourceStamp;
  status: 'ok' | 'error';
  mask?: string;
  maskWidth?: number;
  maskHeight?: number;
  maskSha256?: string;
  error?: string;
}

export async function readJournal(file: string): Promise<JournalEntry[]> {
  return (await readJsonLines<JournalEntry>(file)).filter((e) => typeof e.key === 'string' && typeof e.masksHash === 'string' && !!e.source);
}

/** The JSON objects of a journal file, one a line; a missing file is empty, a torn line is skipped. */
export async function readJsonLines<T>(file: string): Promise<T[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return [];
  }
  const out: T[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const e = JSON.parse(line) as T;
      if (e && typeof e === 'object') out.push(e);
    } catch {
      // a line cut short by a kill: its work is redone
    }
  }
  return out;
}

export class Journal<T extends object = JournalEntry> {
  constructor(readonly file: string) {
    // end a torn last line so the next entry starts on a line of its own
    if (existsSync(file) && statSync(file).size > 0) {
      const fd = openSync(file, 'r');
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, statSync(file).size - 1);
      closeSync(fd);
      if (last[0] !== 10) appendFileSync(file, '\n');
    }
  }

  append(entry: T): void {
    appendFileSync(this.file, JSON.stringify(entry) + '\n');
  }
}
