// Just enough OpenAPI v3 (/openapi/v3 and /openapi/v3/<group-version>) for kubectl: `kubectl create/apply` validate
// by default, and kubectl decides between client-side schema validation (which needs the full schemas) and
// server-side field validation by looking for a `fieldValidation` query parameter on the type's PATCH operation
// (staging/src/k8s.io/cli-runtime/pkg/resource/query_param_verifier_v3.go). Paths carry that parameter and the
// x-kubernetes-group-version-kind extension; no schemas are published.
import type { ResourceType } from './resources.js';
import { RESOURCE_TYPES } from './resources.js';

function gvPath(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

const GV_HASH = 'portico-test-0001';

/** The discovery document of /openapi/v3: one entry per group-version with the URL of its spec. */
export function openApiRoot(): Record<string, unknown> {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const t of RESOURCE_TYPES) {
    const p = gvPath(t.group, t.version);
    paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${GV_HASH}` };
  }
  return { paths };
}

const QUERY = (name: string): Record<string, unknown> => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } });

function operations(t: ResourceType, actions: string[]): Record<string, unknown> {
  const gvk = { group: t.group, version: t.version, kind: t.kind };
  const out: Record<string, unknown> = {};
  for (const action of actions) {
    const method = action === 'post' ? 'post' : action === 'put' ? 'put' : action === 'patch' ? 'patch' : action === 'delete' || action === 'deletecollection' ? 'delete' : 'get';
    const writes = method === 'post' || method === 'put' || method === 'patch';
    out[method] = {
      operationId: `${action}${t.kind}`,
      parameters: writes ? [QUERY('dryRun'), QUERY('fieldManager'), QUERY('fieldValidation'), ...(method === 'patch' ? [QUERY('force')] : [])] : [],
      responses: { '200': { description: 'OK' } },
      'x-kubernetes-action': action,
      'x-kubernetes-group-version-kind': gvk,
    };
  }
  return out;
}

export function openApiGroupVersion(path: string): Record<string, unknown> | undefined {
  const types = RESOURCE_TYPES.filter((t) => gvPath(t.group, t.version) === path);
  if (types.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  for (const t of types) {
    const base = `/${gvPath(t.group, t.version)}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.resource}`;
    paths[base] = operations(t, ['list', 'post', 'deletecollection']);
    paths[`${base}/{name}`] = operations(t, ['get', 'put', 'patch', 'delete']);
    if (t.statusSubresource) paths[`${base}/{name}/status`] = operations(t, ['get', 'put', 'patch']);
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, components: {} };
}
