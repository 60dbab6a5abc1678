// Incremental readers of files that grow: events.jsonl and train.log. They resume from a byte
// offset; a partial last line (the writer is mid-line) is held back until its newline arrives, and
// offsets count bytes of complete lines, so a multi-byte character split across writes is never
// decoded in halves.
import { open } from 'node:fs/promises';
import { parseEventLine, splitLines, type CorruptLine, type RunEvent } from './events';

export interface LineChunk {
  lines: string[];
  /** 1-based number of the first line in `lines`. */
  firstLine: number;
  /** True when the file shrank (replaced): the caller should reset its state. */
  truncated: boolean;
}

export class LineTail {
  private offset = 0;
  private lineNo = 0;
  private ino: number | undefined;

  constructor(readonly file: string) {}

  /** Byte offset just past the last complete line read. */
  get position(): number {
    return this.offset;
  }

  /** Starts at the last `bytes` of the file (a log whose beginning is not wanted). */
  async seekToTail(bytes: number): Promise<void> {
    try {
      const h = await open(this.file, 'r');
      try {
        const { size } = await h.stat();
        if (size <= bytes) return;
        const buf = Buffer.alloc(Math.min(bytes, 64 * 1024));
        const start = size - bytes;
        const { bytesRead } = await h.read(buf, 0, buf.length, start);
        const nl = buf.subarray(0, bytesRead).indexOf(0x0a);
        this.offset = nl < 0 ? start : start + nl + 1;
      } finally {
        await h.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  async read(maxBytes = 64 * 1024 * 1024): Promise<LineChunk> {
    const out: LineChunk = { lines: [], firstLine: this.lineNo + 1, truncated: false };
    let handle;
    try {
      handle = await open(this.file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return out;
      throw err;
    }
    try {
      const { size, ino } = await handle.stat();
      // shorter, or another file under the same name (replaced, not appended to): start over
      if (size < this.offset || (this.ino !== undefined && ino !== this.ino)) {
        this.offset = 0;
        this.lineNo = 0;
        out.truncated = true;
        out.firstLine = 1;
      }
      this.ino = ino;
      const length = Math.min(size - this.offset, maxBytes);
      if (length <= 0) return out;
      const buf = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buf, 0, length, this.offset);
      const lastNl = buf.lastIndexOf(0x0a, bytesRead - 1);
      if (lastNl < 0) return out;
      this.offset += lastNl + 1;
      out.lines = splitLines(buf.subarray(0, lastNl + 1).toString('utf8')).lines;
      this.lineNo += out.lines.length;
      return out;
    } finally {
      await handle.close();
    }
  }
}

export interface TailChunk {
  events: RunEvent[];
  corrupt: CorruptLine[];
  truncated: boolean;
}

/** events.jsonl, parsed: `read()` returns the events appended since the last call. */
export class EventTail {
  private readonly lines: LineTail;

  constructor(readonly file: string) {
    this.lines = new LineTail(file);
  }

  get position(): number {
    return this.lines.position;
  }

  async read(maxBytes?: number): Promise<TailChunk> {
    const chunk = await this.lines.read(maxBytes);
    const out: TailChunk = { events: [], corrupt: [], truncated: chunk.truncated };
    chunk.lines.forEach((line, i) => {
      if (line.trim() === '') return;
      const parsed = parseEventLine(line);
      if (parsed.ok) out.events.push(parsed.event);
      else out.corrupt.push({ line: chunk.firstLine + i, text: line.length > 200 ? `${line.slice(0, 200)}…` : line, reason: parsed.reason });
    });
    return out;
  }

  /** Skips what the file holds now: later reads return only what is appended after this call. */
  async skipExisting(): Promise<void> {
    await this.readAll();
  }

  /** Reads to the end of what is there now, however large (for snapshots). */
  async readAll(): Promise<TailChunk> {
    const all: TailChunk = { events: [], corrupt: [], truncated: false };
    for (;;) {
      const before = this.position;
      const chunk = await this.read();
      all.events.push(...chunk.events);
      all.corrupt.push(...chunk.corrupt);
      all.truncated ||= chunk.truncated;
      if (this.position === before) return all;
    }
  }
}
