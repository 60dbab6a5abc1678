// The page kit's element builder, for every webview page: no innerHTML (text stays text), no
// inline handlers or style attributes (the CSP forbids them: a function attribute becomes an
// event listener, colours go through element.style).
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined | null | ((ev: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'style') throw new Error('inline style attributes are blocked by the CSP');
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, '').toLowerCase(), v as EventListener);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, ...children);
  return el;
}

export function append(el: Element, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.removeChild(el.firstChild);
}

/** A fraction as a percentage; '–' when there is none, '<0.1%' (at 1 digit) for what is there but rounds to nothing. */
export function pct(x: number | undefined | null, digits = 1): string {
  if (typeof x !== 'number' || !Number.isFinite(x)) return '–';
  const p = x * 100;
  const least = 10 ** -digits;
  return p > 0 && p < least ? `<${least}%` : `${p.toFixed(digits)}%`;
}
