// What stops a long command: Ctrl-C (SIGINT), SIGTERM (kill, a service manager, `npx` passing
// it on), SIGHUP (the terminal closed) and the parent process going away (an `npx` or a shell
// that exited without passing the signal on). All of them mean "stop gracefully"; the second
// one means "now".
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const PARENT_POLL_MS = 1000;

/**
 * Calls `handler` on each interrupt with how many there were so far and what it was; returns
 * the function that removes the handlers. After SIGHUP or the parent's exit the terminal may be
 * gone: writes to it are then dropped instead of crashing the command.
 */
export function onInterrupt(handler: (count: number, what: string) => void): () => void {
  let count = 0;
  const fire = (what: string) => {
    if (what !== 'Ctrl-C') detachFromTerminal();
    handler(++count, what);
  };
  const listeners = SIGNALS.map((sig) => {
    const listener = () => fire(sig === 'SIGINT' ? 'Ctrl-C' : sig);
    process.on(sig, listener);
    return [sig, listener] as const;
  });
  const parent = process.ppid;
  const watch = setInterval(() => {
    if (process.ppid !== parent) {
      clearInterval(watch);
      fire(`the parent process (pid ${parent}) exited`);
    }
  }, PARENT_POLL_MS);
  watch.unref();
  return () => {
    clearInterval(watch);
    for (const [sig, listener] of listeners) process.off(sig, listener);
  };
}

/**
 * An AbortSignal for a long command that stops gracefully on the first interrupt and exits at
 * once (130) on the second.
 */
export function cancelOnInterrupt(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const dispose = onInterrupt((count, what) => {
    if (count > 1) process.exit(130);
    process.stderr.write(`\n${what}: cancelling (Ctrl-C again to quit at once)...\n`);
    controller.abort();
  });
  return { signal: controller.signal, dispose };
}

let detached = false;

function detachFromTerminal(): void {
  if (detached) return;
  detached = true;
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
}

