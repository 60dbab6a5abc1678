// Just enough of the `vscode` module for the extension classes the reliability tests drive in
// plain Node (ProjectStore, PreviewPanel): `installVscodeStub()` makes `require('vscode')` return
// it. What a test needs to see (messages shown, files read) is recorded in `stub`.
import { readFileSync } from 'node:fs';
import Module from 'node:module';
import path from 'node:path';

type Listener<T> = (e: T) => unknown;

export class EventEmitter<T> {
  private listeners: Listener<T>[] = [];
  event = (listener: Listener<T>) => {
    this.listeners.push(listener);
    return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
  };
  fire(e: T): void {
    for (const l of [...this.listeners]) l(e);
  }
  dispose(): void {
    this.listeners = [];
  }
}

export class Uri {
  private constructor(
    readonly scheme: string,
    readonly path: string,
  ) {}
  static file(p: string): Uri {
    return new Uri('file', path.resolve(p));
  }
  static parse(s: string): Uri {
    return s.startsWith('file://') ? new Uri('file', decodeURIComponent(s.slice('file://'.length))) : new Uri('untitled', s);
  }
  static joinPath(base: Uri, ...parts: string[]): Uri {
    return new Uri(base.scheme, path.join(base.path, ...parts));
  }
  get fsPath(): string {
    return this.path;
  }
  toString(): string {
    return `${this.scheme}://${this.path}`;
  }
}

export class FileSystemError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

export class CancellationError extends Error {}

export class CancellationTokenSource {
  private readonly emitter = new EventEmitter<void>();
  token = { isCancellationRequested: false, onCancellationRequested: this.emitter.event };
  cancel(): void {
    if (this.token.isCancellationRequested) return;
    this.token.isCancellationRequested = true;
    this.emitter.fire();
  }
  dispose(): void {}
}

export const ProgressLocation = { SourceControl: 1, Window: 10, Notification: 15 };

export class ThemeIcon {
  constructor(
    readonly id: string,
    readonly color?: unknown,
  ) {}
}

export class ThemeColor {
  constructor(readonly id: string) {}
}

export const commands = { executeCommand: async () => undefined, registerCommand: () => ({ dispose() {} }) };

export const stub = {
  messages: [] as { level: string; text: string; detail?: string }[],
  /** The button a test "clicks" on a message with buttons (undefined: dismissed). */
  answer: (_text: string, _buttons: string[]): string | undefined => undefined,
};

const message =
  (level: string) =>
  async (text: string, ...rest: unknown[]) => {
    const options = rest[0] && typeof rest[0] === 'object' ? (rest[0] as { detail?: string }) : undefined;
    const buttons = rest.filter((r): r is string => typeof r === 'string');
    stub.messages.push({ level, text, detail: options?.detail });
    return buttons.length > 0 ? stub.answer(text, buttons) : undefined;
  };

export const window = {
  showErrorMessage: message('error'),
  showWarningMessage: message('warning'),
  showInformationMessage: message('info'),
  showOpenDialog: async () => undefined,
  showSaveDialog: async () => undefined,
  withProgress: async <T>(_o: unknown, task: (p: { report(): void }, t: CancellationTokenSource['token']) => Promise<T>) => task({ report() {} }, new CancellationTokenSource().token),
};

export const workspace = {
  isTrusted: true,
  workspaceFolders: undefined as undefined | { uri: Uri }[],
  textDocuments: [] as unknown[],
  fs: {
    readFile: async (uri: Uri) => {
      try {
        return new Uint8Array(readFileSync(uri.fsPath));
      } catch (err) {
        throw new FileSystemError((err as Error).message, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'FileNotFound' : 'Unknown');
      }
    },
  },
  asRelativePath: (uri: Uri | string) => (typeof uri === 'string' ? uri : path.basename(uri.fsPath)),
  findFiles: async () => [],
  createFileSystemWatcher: () => ({ onDidCreate: () => ({ dispose() {} }), onDidChange: () => ({ dispose() {} }), onDidDelete: () => ({ dispose() {} }), dispose() {} }),
  onDidOpenTextDocument: () => ({ dispose() {} }),
  onDidChangeTextDocument: () => ({ dispose() {} }),
  onDidCloseTextDocument: () => ({ dispose() {} }),
  onDidChangeWorkspaceFolders: () => ({ dispose() {} }),
  getConfiguration: () => ({ get: (_k: string, d: unknown) => d, inspect: () => undefined }),
};

/** A log channel that keeps its lines. */
export function logChannel(): { lines: string[]; info(s: string): void; warn(s: string): void; error(s: string): void; debug(s: string): void; show(): void } {
  const lines: string[] = [];
  const push = (level: string) => (s: string) => void lines.push(`[${level}] ${s}`);
  return { lines, info: push('info'), warn: push('warn'), error: push('error'), debug: push('debug'), show() {} };
}

let installed = false;

/** From now on, `require('vscode')` in this process returns this module. */
export function installVscodeStub(): void {
  if (installed) return;
  installed = true;
  const self = __filename;
  const resolve = (Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string })._resolveFilename;
  (Module as unknown as { _resolveFilename: typeof resolve })._resolveFilename = function (request: string, ...rest: unknown[]) {
    return request === 'vscode' ? self : resolve.call(this, request, ...rest);
  };
}
