// Content negotiation as staging/src/k8s.io/apiserver/pkg/endpoints/handlers/negotiation does it for this server's
// one serializer (JSON): the Accept list is read in order, `as=Table;g=meta.k8s.io;v=v1|v1beta1` selects server-side
// printing for reads, anything else must be JSON-compatible or the answer is 406.
import { parse as parseYaml } from 'yaml';
import { badRequest, notAcceptable, unsupportedMediaType } from './api-errors.js';
import type { PatchType } from './registry.js';

export type Rendering = { as: 'json' } | { as: 'table'; apiVersion: string };

interface MediaRange {
  type: string;
  params: Record<string, string>;
}

function parseMediaRanges(header: string): MediaRange[] {
  return header
    .split(',')
    .map((part) => {
      const [type = '', ...rest] = part.split(';').map((s) => s.trim());
      const params: Record<string, string> = {};
      for (const p of rest) {
        const eq = p.indexOf('=');
        if (eq > 0) params[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim();
      }
      return { type: type.toLowerCase(), params };
    })
    .filter((m) => m.type !== '');
}

const SERVED = ['application/json'];

export function negotiateOutput(accept: string | undefined, allowTable: boolean): Rendering {
  if (!accept || accept.trim() === '') return { as: 'json' };
  for (const m of parseMediaRanges(accept)) {
    const jsonish = m.type === 'application/json' || m.type === '*/*' || m.type === 'application/*';
    if (!jsonish) continue;
    const as = m.params.as;
    if (as === undefined) return { as: 'json' };
    if (as === 'Table' && allowTable && m.params.g === 'meta.k8s.io' && (m.params.v === 'v1' || m.params.v === 'v1beta1')) return { as: 'table', apiVersion: `meta.k8s.io/${m.params.v}` };
  }
  throw notAcceptable(SERVED);
}

/** A request body: JSON, or YAML (which the real server also decodes). */
export function parseBody(contentType: string | undefined, text: string): unknown {
  const type = (contentType ?? 'application/json').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/yaml' || type === 'application/apply-patch+yaml') {
    try {
      return parseYaml(text) as unknown;
    } catch (e) {
      throw badRequest(`error converting YAML to JSON: ${(e as Error).message}`);
    }
  }
  if (type === '' || type.endsWith('json')) {
    if (text.trim() === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      throw badRequest(`couldn't get version/kind; json parse error: ${(e as Error).message}`);
    }
  }
  throw unsupportedMediaType(type, ['application/json', 'application/yaml']);
}

const PATCH_TYPES: Record<string, PatchType> = {
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/json-patch+json': 'json',
  'application/apply-patch+yaml': 'apply',
};

export function patchType(contentType: string | undefined): PatchType {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const p = Object.hasOwn(PATCH_TYPES, type) ? PATCH_TYPES[type] : undefined;
  if (!p) throw unsupportedMediaType(type, Object.keys(PATCH_TYPES));
  return p;
}
