// Styles and colours from the VS Code theme. The bundle's CSS goes into a <style> that carries the
// page script's nonce (the CSP allows nothing else inline).
export function installStyles(...css: string[]): void {
  const script = document.currentScript as HTMLScriptElement | null;
  const nonce = script?.nonce || document.querySelector<HTMLScriptElement>('script[nonce]')?.nonce || '';
  const style = document.createElement('style');
  style.nonce = nonce;
  style.textContent = css.join('\n');
  document.head.append(style);
}

/** A CSS custom property of the theme, or the fallback when the host did not set it. */
export function themeColor(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

export function isDarkTheme(): boolean {
  const cls = document.body.classList;
  return cls.contains('vscode-dark') || cls.contains('vscode-high-contrast');
}

/** Series colours: VS Code's chart palette, in an order where neighbours differ. */
export function chartPalette(): string[] {
  return [
    themeColor('--vscode-charts-blue', '#3794ff'),
    themeColor('--vscode-charts-orange', '#d18616'),
    themeColor('--vscode-charts-green', '#89d185'),
    themeColor('--vscode-charts-purple', '#b180d7'),
    themeColor('--vscode-charts-red', '#f14c4c'),
    themeColor('--vscode-charts-yellow', '#cca700'),
  ];
}

/** Parses #rgb, #rrggbb(aa) or rgb()/rgba() into [r, g, b]. */
export function parseColor(c: string): [number, number, number] {
  const s = c.trim();
  if (s.startsWith('#')) {
    const hex = s.length <= 5 ? [...s.slice(1, 4)].map((x) => x + x).join('') : s.slice(1, 7);
    return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number];
  }
  const m = /rgba?\(([^)]+)\)/.exec(s);
  if (m) return m[1].split(/[ ,/]+/).slice(0, 3).map(Number) as [number, number, number];
  return [128, 128, 128];
}
