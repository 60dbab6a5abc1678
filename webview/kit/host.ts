// The page's side of the VS Code webview API, typed by the view's message protocol. Tests provide
// a fake acquireVsCodeApi before the script runs.
export interface VsCodeApi<Out, State> {
  postMessage(message: Out): void;
  getState(): State | undefined;
  setState(state: State): void;
}

declare function acquireVsCodeApi(): { postMessage(m: unknown): void; getState(): unknown; setState(s: unknown): void };

export function connect<Out, State>(): VsCodeApi<Out, State> {
  const api = acquireVsCodeApi();
  return {
    postMessage: (m) => api.postMessage(m),
    getState: () => (api.getState() as State | undefined) ?? undefined,
    setState: (s) => api.setState(s),
  };
}

export function onHostMessage<In>(handler: (message: In) => void): void {
  window.addEventListener('message', (ev: MessageEvent) => {
    const m = ev.data as { type?: unknown } | null;
    if (m && typeof m === 'object' && typeof m.type === 'string') handler(ev.data as In);
  });
}
