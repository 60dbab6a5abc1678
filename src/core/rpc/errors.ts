// JSON-RPC error codes of the PSCL backend protocol and the error a client throws.
// Codes -32000..-32099 are the range JSON-RPC leaves to servers; -32800 is the code the
// Language Server Protocol uses for a cancelled request (vscode-jsonrpc speaks it too).
import { ERROR_KINDS, type ErrorKind } from '../errors';

export const ErrorCodes = {
  /** The user's input is wrong; the message says what to fix. */
  BadInput: -32001,
  /** Access refused by a remote service (gated repo, missing or wrong token). */
  AuthRequired: -32002,
  /** A host could not be reached or kept failing. */
  NetworkUnavailable: -32003,
  /** A size or checksum check failed. */
  IntegrityFailed: -32004,
  /** Client side only: the backend exited while the request was in flight. */
  BackendStopped: -32050,
  /** The request was cancelled by the caller. */
  RequestCancelled: -32800,
  /** JSON-RPC: the method does not exist. */
  MethodNotFound: -32601,
  /** JSON-RPC: the params are not what the method takes (also a bad-input error). */
  InvalidParams: -32602,
  /** JSON-RPC: a bug or unexpected state in the backend. */
  InternalError: -32603,
} as const;

const codeOfKind: Record<ErrorKind, number> = {
  input: ErrorCodes.BadInput,
  auth: ErrorCodes.AuthRequired,
  network: ErrorCodes.NetworkUnavailable,
  integrity: ErrorCodes.IntegrityFailed,
  cancelled: ErrorCodes.RequestCancelled,
  internal: ErrorCodes.InternalError,
  stopped: ErrorCodes.BackendStopped,
};

export function codeForKind(kind: ErrorKind): number {
  return codeOfKind[kind];
}

/** The kind for a code received on the wire (codes from other sources count as internal). */
export function kindForCode(code: number): ErrorKind {
  if (code === ErrorCodes.InvalidParams || code === ErrorCodes.MethodNotFound) return 'input';
  for (const kind of ERROR_KINDS) if (codeOfKind[kind] === code) return kind;
  return 'internal';
}

/** `data` of every error response the backend sends. */
export interface ErrorData {
  kind: ErrorKind;
  /** Stack or other detail for the log; never shown as the message. */
  detail?: string;
}

/** What a BackendClient request rejects with. */
export class BackendError extends Error {
  constructor(
    message: string,
    readonly code: number,
    readonly kind: ErrorKind,
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'BackendError';
  }
}
