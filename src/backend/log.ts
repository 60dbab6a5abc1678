// The backend's log: stderr only, because stdout carries the protocol. The client shows these
// lines in its output channel.
export function log(message: string): void {
  process.stderr.write(`[pscl-backend] ${message}\n`);
}

/** Sends console output of the backend and of libraries it loads to stderr. */
export function redirectConsoleToStderr(): void {
  const toStderr = (...args: unknown[]) => process.stderr.write(args.map((a) => (typeof a === 'string' ? a : String(a))).join(' ') + '\n');
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
}
