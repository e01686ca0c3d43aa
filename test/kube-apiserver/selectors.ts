// Label and field selectors with the grammar of k8s.io/apimachinery/pkg/labels/selector.go and
// k8s.io/apimachinery/pkg/fields/selector.go. Parsing errors become 400 BadRequest, as the real server's
// parameter decoding does.
import { badRequest } from './api-errors.js';
import type { ResourceType } from './resources.js';
import type { KubeObject } from './types.js';

type LabelOp = 'exists' | '!exists' | '=' | '!=' | 'in' | 'notin' | 'gt' | 'lt';
interface LabelRequirement {
  key: string;
  op: LabelOp;
  values: string[];
}

export interface LabelSelector {
  readonly empty: boolean;
  matches(labels: Record<string, string> | undefined): boolean;
}

const KEY = String.raw`([A-Za-z0-9][-A-Za-z0-9_./]*)`;
const VALUE = String.raw`([-A-Za-z0-9_.]*)`;

/** Top-level commas only: `a in (x,y),b` is two requirements. */
function splitTopLevel(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts;
}

function parseRequirement(term: string): LabelRequirement {
  let m: RegExpMatchArray | null;
  if ((m = term.match(new RegExp(String.raw`^\s*!\s*${KEY}\s*$`)))) return { key: m[1] ?? '', op: '!exists', values: [] };
  if ((m = term.match(new RegExp(String.raw`^\s*${KEY}\s+(in|notin)\s*\(([^()]*)\)\s*$`)))) {
    const values = (m[3] ?? '').split(',').map((v) => v.trim());
    if (!values.every((v) => new RegExp(`^${VALUE}$`).test(v))) throw badRequest(`unable to parse requirement: invalid value in "${term.trim()}"`);
    return { key: m[1] ?? '', op: m[2] === 'in' ? 'in' : 'notin', values };
  }
  if ((m = term.match(new RegExp(String.raw`^\s*${KEY}\s*(==|=|!=|>|<)\s*${VALUE}\s*$`)))) {
    const op = m[2] === '!=' ? '!=' : m[2] === '>' ? 'gt' : m[2] === '<' ? 'lt' : '=';
    if ((op === 'gt' || op === 'lt') && !/^-?\d+$/.test(m[3] ?? '')) throw badRequest(`unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer`);
    return { key: m[1] ?? '', op, values: [m[3] ?? ''] };
  }
  if ((m = term.match(new RegExp(String.raw`^\s*${KEY}\s*$`)))) return { key: m[1] ?? '', op: 'exists', values: [] };
  throw badRequest(`unable to parse requirement: found '${term.trim()}', expected: identifier, '!', 'in', 'notin', '=', '==', '!=', 'gt', 'lt'`);
}

function matchesRequirement(r: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = labels[r.key];
  switch (r.op) {
    case 'exists':
      return has;
    case '!exists':
      return !has;
    case '=':
      return has && v === r.values[0];
    case '!=':
      return !has || v !== r.values[0];
    case 'in':
      return has && r.values.includes(v ?? '');
    case 'notin':
      return !has || !r.values.includes(v ?? '');
    case 'gt':
    case 'lt': {
      if (!has || !/^-?\d+$/.test(v ?? '')) return false;
      const n = Number(v);
      const bound = Number(r.values[0]);
      return r.op === 'gt' ? n > bound : n < bound;
    }
  }
}

export function parseLabelSelector(s: string | null | undefined): LabelSelector {
  const text = (s ?? '').trim();
  const reqs = text === '' ? [] : splitTopLevel(text).map(parseRequirement);
  return {
    empty: reqs.length === 0,
    matches: (labels) => reqs.every((r) => matchesRequirement(r, labels ?? {})),
  };
}

interface FieldRequirement {
  field: string;
  negate: boolean;
  value: string;
}

export interface FieldSelector {
  readonly empty: boolean;
  matches(o: KubeObject): boolean;
  /** The value of `field=value` when the selector pins the field exactly (fields.Selector.RequiresExactMatch). */
  exact(field: string): string | undefined;
}

/** Splits on an unescaped separator; `\,` `\=` `\\` are the field selector escapes. */
function splitEscaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i] ?? '';
    if (ch === '\\' && i + 1 < s.length) {
      cur += ch + (s[i + 1] ?? '');
      i++;
    } else if (ch === sep) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function unescapeField(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}

function parseFieldTerm(term: string): FieldRequirement {
  // Longest operator first, on the first unescaped occurrence.
  for (const [op, negate] of [
    ['!=', true],
    ['==', false],
    ['=', false],
  ] as const) {
    const idx = findUnescaped(term, op);
    if (idx >= 0) return { field: unescapeField(term.slice(0, idx)).trim(), negate, value: unescapeField(term.slice(idx + op.length)) };
  }
  throw badRequest(`invalid selector: '${term}'; can't understand '${term}'`);
}

function findUnescaped(s: string, needle: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') {
      i++;
      continue;
    }
    if (s.startsWith(needle, i)) return i;
  }
  return -1;
}

export function fieldValue(t: ResourceType, o: KubeObject, field: string): string | undefined {
  if (field === 'metadata.name') return o.metadata.name ?? '';
  if (field === 'metadata.namespace') return t.namespaced ? o.metadata.namespace ?? '' : '';
  return Object.hasOwn(t.fields, field) ? t.fields[field]?.(o) : undefined;
}

export function parseFieldSelector(t: ResourceType, s: string | null | undefined): FieldSelector {
  const text = (s ?? '').trim();
  const reqs = text === '' ? [] : splitEscaped(text, ',').map(parseFieldTerm);
  for (const r of reqs) {
    if (r.field !== 'metadata.name' && r.field !== 'metadata.namespace' && !Object.hasOwn(t.fields, r.field)) throw badRequest(`field label not supported: ${r.field}`);
  }
  return {
    empty: reqs.length === 0,
    matches: (o) => reqs.every((r) => (fieldValue(t, o, r.field) === r.value) !== r.negate),
    exact: (field) => reqs.find((r) => r.field === field && !r.negate)?.value,
  };
}

/**
 * fields.Selector.RequiresExactMatch without knowing the resource type: request-info uses it to give a list or watch
 * pinned to one name that name for authorization. Unparseable selectors pin nothing (the handler reports them).
 */
export function exactFieldValue(selector: string, field: string): string | undefined {
  if (selector.trim() === '') return undefined;
  try {
    return splitEscaped(selector, ',')
      .map(parseFieldTerm)
      .find((r) => r.field === field && !r.negate)?.value;
  } catch {
    return undefined;
  }
}
