// Unaggregated discovery (APIVersions, APIGroupList, APIGroup, APIResourceList) and /version, the documents
// client-go's discovery client reads (staging/src/k8s.io/client-go/discovery/discovery_client.go). Aggregated
// discovery (apidiscovery.k8s.io/v2) is not served: the plain document with Content-Type application/json is what a
// server without it answers, and client-go falls back on seeing that content type.
import type { APIGroup, APIGroupList, APIResource, APIResourceList, APIVersions } from 'kubernetes-types/meta/v1.js';
import type { ResourceType } from './resources.js';
import { RESOURCE_TYPES, apiVersionOf, storageVersionHash } from './resources.js';

export const VERSION_INFO = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-portico-test',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2024-12-11T00:00:00Z',
  goVersion: 'go1.23.3',
  compiler: 'gc',
  platform: 'linux/amd64',
};

export function apiVersions(serverAddress: string): APIVersions & { kind: string } {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function groups(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const t of RESOURCE_TYPES) {
    if (!t.group) continue;
    const vs = out.get(t.group) ?? [];
    if (!vs.includes(t.version)) vs.push(t.version);
    out.set(t.group, vs);
  }
  return out;
}

export function apiGroup(name: string): (APIGroup & { kind: string; apiVersion: string }) | undefined {
  const versions = groups().get(name);
  if (!versions) return undefined;
  const vs = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { kind: 'APIGroup', apiVersion: 'v1', name, versions: vs, preferredVersion: vs[0] ?? { groupVersion: '', version: '' } };
}

export function apiGroupList(): APIGroupList & { kind: string; apiVersion: string } {
  const list: APIGroup[] = [];
  for (const name of groups().keys()) {
    const g = apiGroup(name);
    if (g) list.push({ name: g.name, versions: g.versions, preferredVersion: g.preferredVersion });
  }
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: list };
}

function resources(t: ResourceType): APIResource[] {
  const main: APIResource = {
    name: t.resource,
    singularName: t.singular,
    namespaced: t.namespaced,
    kind: t.kind,
    verbs: t.verbs,
    ...(t.shortNames.length ? { shortNames: t.shortNames } : {}),
    ...(t.categories.length ? { categories: t.categories } : {}),
    storageVersionHash: storageVersionHash(t),
  };
  if (!t.statusSubresource) return [main];
  return [main, { name: `${t.resource}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] }];
}

export function apiResourceList(group: string, version: string): (APIResourceList & { kind: string; apiVersion: string }) | undefined {
  const types = RESOURCE_TYPES.filter((t) => t.group === group && t.version === version);
  if (types.length === 0) return undefined;
  const gv = apiVersionOf(types[0] as ResourceType);
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gv, resources: types.flatMap(resources) };
}
