// Colours from the VS Code theme (CSS variables the workbench sets on the page).
/** A CSS custom property of the theme, or the fallback when the host did not set it. */
export function themeColor(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
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
