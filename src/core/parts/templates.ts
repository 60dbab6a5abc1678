// Template expansion shared by the mask pipeline (part prompts) and the text prototypes (class
// prompts). Placeholders: {name}, {part}, {coarse}, {level:NAME}; `{{` and `}}` are literal braces.

export type Placeholder =
  | { kind: 'name' }
  | { kind: 'part' }
  | { kind: 'coarse' }
  | { kind: 'level'; level: string };

/** Values a template may draw on; a placeholder whose value is absent is an error. */
export interface TemplateValues {
  name?: string;
  part?: string;
  coarse?: string;
  /** Value per level name, for {level:NAME}. */
  levels?: Record<string, string | undefined>;
}

/** A template that cannot be expanded; the message names the template and the culprit. */
export class TemplateError extends Error {
  constructor(
    readonly template: string,
    readonly problem: string,
    readonly where?: string,
  ) {
    super(`${where ? where + ': ' : ''}template "${template}": ${problem}`);
  }
}

type Piece = string | Placeholder;

const parsed = new Map<string, Piece[]>();

/** Splits a template into literal text and placeholders; throws TemplateError on bad syntax. */
export function parseTemplate(template: string, where?: string): Piece[] {
  const hit = parsed.get(template);
  if (hit) return hit;
  const pieces: Piece[] = [];
  let literal = '';
  let i = 0;
  while (i < template.length) {
    const c = template[i];
    if (c === '{' && template[i + 1] === '{') {
      literal += '{';
      i += 2;
    } else if (c === '}' && template[i + 1] === '}') {
      literal += '}';
      i += 2;
    } else if (c === '}') {
      throw new TemplateError(template, `unmatched "}" at character ${i + 1} (write "}}" for a literal brace)`, where);
    } else if (c === '{') {
      const end = template.indexOf('}', i + 1);
      if (end < 0) throw new TemplateError(template, `unclosed "{" at character ${i + 1} (write "{{" for a literal brace)`, where);
      const body = template.slice(i + 1, end);
      pieces.push(literal, placeholderOf(template, body, where));
      literal = '';
      i = end + 1;
    } else {
      literal += c;
      i++;
    }
  }
  pieces.push(literal);
  const result = pieces.filter((p) => p !== '');
  if (parsed.size > 500) parsed.clear(); // templates are few; edits while typing must not pile up
  parsed.set(template, result);
  return result;
}

function placeholderOf(template: string, body: string, where?: string): Placeholder {
  if (body === 'name' || body === 'part' || body === 'coarse') return { kind: body };
  if (body.startsWith('level:') && body.length > 'level:'.length) return { kind: 'level', level: body.slice('level:'.length) };
  throw new TemplateError(template, `unknown placeholder {${body}} (known: {name}, {part}, {coarse}, {level:NAME})`, where);
}

export function placeholderText(p: Placeholder): string {
  return p.kind === 'level' ? `{level:${p.level}}` : `{${p.kind}}`;
}

/** Expands one template; `where` (e.g. "templates.part[0]") prefixes error messages. */
export function expandTemplate(template: string, values: TemplateValues, where?: string): string {
  let out = '';
  for (const piece of parseTemplate(template, where)) {
    if (typeof piece === 'string') {
      out += piece;
      continue;
    }
    const value = piece.kind === 'level' ? values.levels?.[piece.level] : values[piece.kind];
    if (value === undefined) {
      const why = piece.kind === 'level' ? `there is no level "${piece.level}"` : `it has no value here`;
      throw new TemplateError(template, `placeholder ${placeholderText(piece)} cannot be filled: ${why}`, where);
    }
    out += value;
  }
  return out;
}
