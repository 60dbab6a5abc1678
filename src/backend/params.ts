// Checks of request params, with errors that name the method and the field. A wrong param is
// the caller's bug or the user's input; either way it is a bad-input error, not a crash.
import { PsclError } from '../core/errors';

export type Fields = Record<string, unknown>;

export function fields(method: string, params: unknown): Fields {
  if (params === undefined || params === null) return {};
  if (typeof params !== 'object' || Array.isArray(params)) throw new PsclError(`${method}: params must be an object`);
  return params as Fields;
}

export function str(method: string, p: Fields, key: string): string {
  const v = p[key];
  if (typeof v !== 'string' || v.trim() === '') throw new PsclError(`${method}: '${key}' must be a non-empty string`);
  return v;
}

export function optStr(method: string, p: Fields, key: string): string | undefined {
  return p[key] === undefined || p[key] === null ? undefined : str(method, p, key);
}

export function optBool(method: string, p: Fields, key: string): boolean | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new PsclError(`${method}: '${key}' must be true or false`);
  return v;
}

export function optInt(method: string, p: Fields, key: string, min: number, max: number): number | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new PsclError(`${method}: '${key}' must be an integer from ${min} to ${max}`);
  return v;
}

export function strArray(method: string, p: Fields, key: string, maxLength: number): string[] {
  const v = p[key];
  if (!Array.isArray(v) || v.length === 0 || !v.every((s) => typeof s === 'string')) {
    throw new PsclError(`${method}: '${key}' must be a non-empty array of strings`);
  }
  if (v.length > maxLength) throw new PsclError(`${method}: '${key}' holds ${v.length} items; send at most ${maxLength} per request`);
  return v as string[];
}

export function oneOf<T extends string>(method: string, p: Fields, key: string, values: readonly T[]): T | undefined {
  const v = p[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) throw new PsclError(`${method}: '${key}' must be one of ${values.join(', ')}`);
  return v as T;
}
