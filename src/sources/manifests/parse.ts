// Manifest files -> Kubernetes objects. A file is all or nothing: one malformed document rejects the file, so a
// half-edited file never removes the objects it held before.
import { CORE_SCHEMA, DEFAULT_SCHEMA, loadAll } from 'js-yaml';
import type { Type } from 'js-yaml';
import { Composer, Parser } from 'yaml';
import { isObject } from '../../k8s/objects.js';
import type { Obj } from '../../k8s/objects.js';
export type { Obj };

export type ParseResult = { ok: true; objects: Obj[] } | { ok: false; error: string; line?: number; column?: number };

export const MAX_FILE_BYTES = 32 << 20;

/** YAML 1.2's core schema plus YAML 1.1's merge key (`<<: *anchor`), which kubectl reads (sigs.k8s.io/yaml is YAML
 * 1.1) and charts use to share annotations. A quoted `"<<"` stays a plain key, in both parsers as in kubectl. */
const MANIFEST_SCHEMA = CORE_SCHEMA.extend({ implicit: [mergeType()] });

/** js-yaml's merge type, from its default schema (its typings do not export `types`; the default schema's other
 * types, timestamps among them, are not wanted: creationTimestamp must stay a string). */
function mergeType(): Type {
  const implicit = (DEFAULT_SCHEMA as unknown as { implicit?: Type[] }).implicit ?? [];
  const merge = implicit.find((t) => (t as unknown as { tag?: string }).tag === 'tag:yaml.org,2002:merge');
  if (!merge) throw new Error('js-yaml: no merge type in its default schema');
  return merge;
}

export function parseManifestText(text: string): ParseResult {
  if (text.length > MAX_FILE_BYTES) return { ok: false, error: `file is larger than ${MAX_FILE_BYTES} bytes` };
  // JSON (what `kubectl get -o json` writes) parses far faster as JSON; YAML reports the position of any error.
  if (/^\s*[[{]/.test(text)) {
    try {
      const objects: Obj[] = [];
      const bad = collect(JSON.parse(text), 'document 1', objects);
      if (!bad) return { ok: true, objects };
    } catch {
      // not plain JSON after all: the YAML parser below says where and why
    }
  }
  const fast = parseFast(text);
  if (fast) return { ok: true, objects: fast };
  const objects: Obj[] = [];
  try {
    // One document at a time: a file with thousands of objects never holds all their syntax trees at once.
    const composer = new Composer({ prettyErrors: false, uniqueKeys: false, merge: true });
    let i = 0;
    for (const doc of composer.compose(new Parser().parse(text))) {
      i++;
      const err = doc.errors[0];
      if (err) return { ok: false, error: err.message.split('\n')[0] ?? err.message, ...docLine(text, err.pos[0]) };
      let value: unknown;
      try {
        value = doc.toJS({ maxAliasCount: 100 });
      } catch (e) {
        return { ok: false, error: `document ${i}: ${(e as Error).message}`, ...docLine(text, doc.range[0]) };
      }
      if (value === null || value === undefined) continue; // empty document, e.g. a trailing `---`
      const bad = collect(value, `document ${i}`, objects);
      // Positions are computed only for the error: scanning from the start for every document is quadratic.
      if (bad) return { ok: false, error: bad, ...docLine(text, doc.range[0]) };
    }
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
  return { ok: true, objects };
}

/**
 * js-yaml parses about five times faster than `yaml`, which matters for files with thousands of objects; with the
 * YAML 1.2 core schema both read manifests alike. It is trusted only with input it accepts whole: anything it
 * rejects, any document that is not an object, and anything whose aliases expand far beyond the text go to `yaml`,
 * whose errors carry positions and which refuses alias bombs.
 */
function parseFast(text: string): Obj[] | undefined {
  const docs: unknown[] = [];
  try {
    loadAll(text, (d) => docs.push(d), { schema: MANIFEST_SCHEMA, json: true });
  } catch {
    return undefined;
  }
  // Only aliases can make the objects outgrow the text, and an alias needs an anchor (`&`): without one, skip the
  // walk over every node (90 ms at 10,000 Ingresses).
  if (text.includes('&') && !withinExpansionBudget(docs, Math.max(10_000, 4 * text.length))) return undefined;
  const objects: Obj[] = [];
  for (const [i, d] of docs.entries()) {
    if (d === null || d === undefined) continue;
    if (collect(d, `document ${i + 1}`, objects)) return undefined;
  }
  return objects;
}

/** Counts nodes as a copy would (an alias counts each time it is used) and stops at the budget. */
function withinExpansionBudget(value: unknown, budget: number): boolean {
  let left = budget;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (--left < 0) return false;
    if (typeof v !== 'object' || v === null) continue;
    for (const child of Array.isArray(v) ? (v as unknown[]) : Object.values(v)) stack.push(child);
  }
  return true;
}

function collect(value: unknown, what: string, out: Obj[]): string | undefined {
  if (!isObject(value)) return `${what} is not an object`;
  if (typeof value.kind !== 'string' || value.kind === '') return `${what} has no kind`;
  if (value.kind === 'List' || value.kind.endsWith('List')) {
    if (!Array.isArray(value.items)) return `${what} is a ${value.kind} without items`;
    for (const [j, item] of (value.items as unknown[]).entries()) {
      const bad = collect(item, `${what} item ${j}`, out);
      if (bad) return bad;
    }
    return undefined;
  }
  out.push(value);
  return undefined;
}

function docLine(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let last = -1;
  for (let i = 0; i < offset && i < text.length; i++)
    if (text.charCodeAt(i) === 10) {
      line++;
      last = i;
    }
  return { line, column: offset - last };
}
