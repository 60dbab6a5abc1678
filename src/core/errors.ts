// Error classes shared by the core, the backend and the CLI. The backend maps an error to a
// JSON-RPC error by its `kind` (src/core/rpc/errors.ts), so any error class elsewhere can join
// the mapping by carrying a `kind` field without importing this file.

/** What went wrong, from the user's point of view: it decides the message's tone and the code. */
export type ErrorKind =
  /** The user's input is wrong (a path, a setting, a file's content): they can fix it. */
  | 'input'
  /** A remote service refused access: a token or accepting terms is needed. */
  | 'auth'
  /** A host could not be reached or kept failing: retry later or work offline. */
  | 'network'
  /** Downloaded or stored data failed a size or checksum check. */
  | 'integrity'
  /** The caller cancelled the work. */
  | 'cancelled'
  /** A bug or an unexpected state: the message says so and the log has the details. */
  | 'internal'
  /** The backend process exited while the request was in flight (client side only). */
  | 'stopped';

export const ERROR_KINDS: readonly ErrorKind[] = ['input', 'auth', 'network', 'integrity', 'cancelled', 'internal', 'stopped'];

/** An expected failure whose message tells the user what to do. */
export class PsclError extends Error {
  constructor(
    message: string,
    readonly kind: ErrorKind = 'input',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PsclError';
  }
}

/** Thrown when work stops because its AbortSignal fired. */
export class CancelledError extends PsclError {
  constructor(message = 'cancelled') {
    super(message, 'cancelled');
    this.name = 'CancelledError';
  }
}

/** The kind of any thrown value: its own `kind` when it has a known one, else by shape. */
export function errorKind(err: unknown): ErrorKind {
  const kind = (err as { kind?: unknown } | null)?.kind;
  if (typeof kind === 'string' && (ERROR_KINDS as readonly string[]).includes(kind)) return kind as ErrorKind;
  const name = (err as { name?: unknown } | null)?.name;
  if (name === 'AbortError') return 'cancelled';
  return 'internal';
}

/** Throws a CancelledError when the signal has fired. */
export function throwIfCancelled(signal: AbortSignal | undefined, what = 'the operation'): void {
  if (signal?.aborted) throw new CancelledError(`${what} was cancelled`);
}
