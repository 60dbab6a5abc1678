// The page's side of the VS Code webview API, for every webview page: acquireVsCodeApi is called
// once here, typed by the page's messages and saved state. Tests provide a fake acquireVsCodeApi
// before the script runs.
export interface VsCodeApi<Out, State> {
  postMessage(message: Out): void;
  getState(): State | undefined;
  setState(state: State): void;
}

declare function acquireVsCodeApi(): { postMessage(m: unknown): void; getState(): unknown; setState(s: unknown): void };

let api: ReturnType<typeof acquireVsCodeApi> | undefined;

/** The host connection (acquireVsCodeApi may be called only once per page). The saved state is as the page left it: check it. */
export function connect<Out, State>(): VsCodeApi<Out, State> {
  api ??= acquireVsCodeApi();
  const a = api;
  return {
    postMessage: (m) => a.postMessage(m),
    getState: () => (a.getState() as State | undefined) ?? undefined,
    setState: (s) => a.setState(s),
  };
}

/** Messages from the host that have a `type`; `accept` narrows them further (a page may be sent anything). */
export function onHostMessage<In>(handler: (message: In) => void, accept: (m: unknown) => m is In = (m): m is In => true): void {
  window.addEventListener('message', (ev: MessageEvent) => {
    const m = ev.data as { type?: unknown } | null;
    if (m && typeof m === 'object' && typeof m.type === 'string' && accept(ev.data)) handler(ev.data as In);
  });
}
