// An incremental reader of events.jsonl that resumes from a byte offset. A trainer that is still
// writing may leave a partial last line; that line is held back until its newline arrives.
import { open } from 'node:fs/promises';
import { parseEventLine, splitLines, type CorruptLine, type RunEvent } from './events';

export interface TailChunk {
  events: RunEvent[];
  corrupt: CorruptLine[];
  /** True when the file shrank or was replaced: the caller should reset its state. */
  truncated: boolean;
}

/**
 * Reads events.jsonl incrementally. `read()` returns the events appended since the last call.
 * Offsets are in bytes of complete lines, so a multi-byte character split across two writes is
 * never decoded in halves.
 */
export class EventTail {
  private offset = 0;
  private lineNo = 0;

  constructor(readonly file: string) {}

  /** Byte offset just past the last complete line read. */
  get position(): number {
    return this.offset;
  }

  async read(maxBytes = 64 * 1024 * 1024): Promise<TailChunk> {
    let handle;
    try {
      handle = await open(this.file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { events: [], corrupt: [], truncated: false };
      throw err;
    }
    try {
      const { size } = await handle.stat();
      let truncated = false;
      if (size < this.offset) {
        this.offset = 0;
        this.lineNo = 0;
        truncated = true;
      }
      const length = Math.min(size - this.offset, maxBytes);
      if (length <= 0) return { events: [], corrupt: [], truncated };
      const buf = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buf, 0, length, this.offset);
      const lastNl = buf.lastIndexOf(0x0a, bytesRead - 1);
      if (lastNl < 0) return { events: [], corrupt: [], truncated };
      const text = buf.subarray(0, lastNl + 1).toString('utf8');
      this.offset += lastNl + 1;
      const out: TailChunk = { events: [], corrupt: [], truncated };
      for (const line of splitLines(text).lines) {
        this.lineNo++;
        if (line.trim() === '') continue;
        const parsed = parseEventLine(line);
        if (parsed.ok) out.events.push(parsed.event);
        else out.corrupt.push({ line: this.lineNo, text: line.length > 200 ? `${line.slice(0, 200)}…` : line, reason: parsed.reason });
      }
      return out;
    } finally {
      await handle.close();
    }
  }

  /** Reads to the end of what is there now, however large (for snapshots). */
  async readAll(): Promise<TailChunk> {
    const all: TailChunk = { events: [], corrupt: [], truncated: false };
    for (;;) {
      const before = this.offset;
      const chunk = await this.read();
      all.events.push(...chunk.events);
      all.corrupt.push(...chunk.corrupt);
      all.truncated ||= chunk.truncated;
      if (this.offset === before) return all;
    }
  }
}
