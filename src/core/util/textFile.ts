// Reading a user's text file strictly as UTF-8. Node's 'utf8' decoding turns a stray byte into
// U+FFFD silently, and writing that text back would change bytes nobody edited; so a file that is
// not valid UTF-8 is an error naming the line, column and byte.
import { promises as fs } from 'node:fs';
import { PsclError } from '../errors';

export class TextEncodingError extends PsclError {
  constructor(
    readonly file: string,
    /** 0-based, like the diagnostics' positions. */
    readonly line: number,
    readonly character: number,
    readonly byte: number,
  ) {
    super(
      `${file}:${line + 1}:${character + 1}: the byte 0x${byte.toString(16).toUpperCase().padStart(2, '0')} is not valid UTF-8; ` +
        'save the file as UTF-8 (an edit would otherwise change text nobody touched)',
    );
    this.name = 'TextEncodingError';
  }
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let i = 0; i < n; ) {
    const b = bytes[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    let len: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) (len = 2), (min = 0x80);
    else if (b >= 0xe0 && b <= 0xef) (len = 3), (min = 0x800);
    else if (b >= 0xf0 && b <= 0xf4) (len = 4), (min = 0x10000);
    else return i;
    if (i + len > n) return i;
    let cp = b & (0xff >> (len + 1));
    for (let k = 1; k < len; k++) {
      const c = bytes[i + k];
      if ((c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += len;
  }
  return -1;
}

/** The text of UTF-8 bytes (a byte order mark is kept as U+FEFF); throws TextEncodingError. */
export function decodeUtf8Strict(bytes: Uint8Array, file: string): string {
  const bad = firstInvalidUtf8(bytes);
  if (bad < 0) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const lineStart = bad === 0 ? 0 : bytes.lastIndexOf(0x0a, bad - 1) + 1;
  let line = 0;
  for (let i = 0; i < lineStart; i++) if (bytes[i] === 0x0a) line++;
  const character = Buffer.from(bytes.buffer, bytes.byteOffset + lineStart, bad - lineStart).toString('utf8').length;
  throw new TextEncodingError(file, line, character, bytes[bad]);
}

/** Reads a file as strict UTF-8 (fs errors pass through unchanged). */
export async function readUtf8File(file: string): Promise<string> {
  return decodeUtf8Strict(await fs.readFile(file), file);
}
