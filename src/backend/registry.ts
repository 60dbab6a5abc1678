// What a backend feature provides: requests (answered once) and job kinds (started with
// jobs/start, run in the background, finishing with a jobs/finished notification). Each area
// of the backend exports one BackendArea from src/backend/methods/<area>.ts; the table in
// methods/index.ts lists them.
import type { RequestType } from 'vscode-jsonrpc';
import { ResponseError } from 'vscode-jsonrpc';
import { errorKind } from '../core/errors';
import { codeForKind, type ErrorData } from '../core/rpc/errors';
import type { ProgressParams } from '../core/rpc/protocol';
import type { BackendServices } from './services';

export type ProgressReport = Omit<ProgressParams, 'jobId'>;

export interface HandlerContext {
  /** Fires when the caller cancels (or the job is cancelled, or the backend shuts down). */
  signal: AbortSignal;
  /** Sends a `progress` notification when the caller asked for progress; otherwise a no-op. */
  progress(report: ProgressReport): void;
  /** The request's or job's id, when it has one. */
  jobId?: string;
  services: BackendServices;
}

export interface RequestDefinition<P = unknown, R = unknown> {
  method: string;
  /** Checks the raw params; throws a bad-input PsclError naming the field. */
  parse(raw: unknown): P;
  handle(params: P, ctx: HandlerContext): Promise<R> | R;
}

export interface JobDefinition<P = unknown, R = unknown> {
  kind: string;
  parse(raw: unknown): P;
  run(params: P, ctx: HandlerContext): Promise<R>;
}

export interface BackendArea {
  requests?: RequestDefinition<any, any>[];
  jobs?: JobDefinition<any, any>[];
}

/** Ties a handler to a typed request from protocol.ts so both sides agree on P and R. */
export function defineRequest<P, R>(
  type: RequestType<P, R, unknown>,
  parse: (raw: unknown) => P,
  handle: (params: P, ctx: HandlerContext) => Promise<R> | R,
): RequestDefinition<P, R> {
  return { method: type.method, parse, handle };
}

export function defineJob<P, R>(kind: string, parse: (raw: unknown) => P, run: (params: P, ctx: HandlerContext) => Promise<R>): JobDefinition<P, R> {
  return { kind, parse, run };
}

/** The JSON-RPC error for anything a handler threw; `cancelled` wins when the signal fired. */
export function toResponseError(err: unknown, what: string, cancelled: boolean): ResponseError<ErrorData> {
  const kind = cancelled ? 'cancelled' : errorKind(err);
  const raw = err instanceof Error ? err.message : String(err);
  const message =
    kind === 'internal'
      ? `${what} failed: ${raw} (an internal error in the PSCL backend; its log has the details)`
      : kind === 'cancelled' && !raw.includes('cancel')
        ? `${what} was cancelled`
        : raw;
  const detail = err instanceof Error ? err.stack : undefined;
  return new ResponseError<ErrorData>(codeForKind(kind), message, { kind, detail });
}
