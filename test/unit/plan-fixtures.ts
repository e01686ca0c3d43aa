// Shared by the plan() tests: models translated from manifest text, the runtime state right after a reload, and
// the operations plan() chooses when no reload is needed.
import assert from 'node:assert/strict';
import { parseManifestText } from '../../src/sources/manifests/parse.js';
import { snapshotFromFiles } from '../../src/store/store.js';
import { translate } from '../../src/translate/translate.js';
import type { RoutingModel, TranslateResult } from '../../src/model/types.js';
import { externalKey, plan } from '../../src/haproxy/runtime/plan.js';
import { featuresInUse } from '../../src/haproxy/render/render.js';
import type { Op, RuntimeState } from '../../src/haproxy/runtime/plan.js';

export const DIR = '/state/gen/1';
export const DEFAULT_PEM = 'GENERATED\n';

/** Manifest text translated as `serve --manifests` with the default flags would translate it. */
export function translateYaml(yaml: string): TranslateResult {
  const parsed = parseManifestText(yaml);
  assert.ok(parsed.ok);
  const { snapshot } = snapshotFromFiles(new Map([['f', parsed.objects]]));
  return translate(snapshot, { controllerName: 'portico.dev/ingress-controller', ingressClass: 'portico', implicitIngressClass: true, checkCreateOnlyRules: true, sslRedirect: true });
}

export function model(yaml: string): RoutingModel {
  return translateYaml(yaml).model;
}

/** The state right after a reload that rendered `m` with `spares` spare sections. */
export function reloadedWith(m: RoutingModel, spares = 2): RuntimeState {
  return {
    layout: { filesDir: DIR, named: new Map(m.backends.map((b) => [b.name, externalKey(b)])), features: featuresInUse(m) },
    model: m,
    bound: new Map(),
    free: Array.from({ length: spares }, (_, i) => `spare_${i}`),
    defaultCertPem: DEFAULT_PEM,
  };
}

export function ops(state: RuntimeState, next: RoutingModel): { ops: Op[]; next: RuntimeState } {
  const p = plan(state, next, DEFAULT_PEM);
  assert.ok(!('reload' in p), `unexpected reload: ${'reload' in p ? p.reload : ''}`);
  return p;
}

/** An Ingress of one rule (host, `/` Prefix, the Service's port 80) with these `nginx.ingress.kubernetes.io/`
 * annotations, as manifest text ending in a document separator. */
export const annotatedIngress = (name: string, host: string, service: string, ann: Record<string, string> = {}): string => `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: ${name}, annotations: ${JSON.stringify(Object.fromEntries(Object.entries(ann).map(([k, v]) => [`nginx.ingress.kubernetes.io/${k}`, v])))}}
spec:
  rules: [{host: ${host}, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: ${service}, port: {number: 80}}}}]}}]
---`;

/** A Service with one EndpointSlice holding `ips`, port 80 to 3000. */
export const svc = (name: string, ips: string[]): string => `
apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec: {ports: [{port: 80, targetPort: 3000}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: ${name}-1, labels: {kubernetes.io/service-name: ${name}}}
addressType: IPv4
ports: [{port: 3000}]
endpoints: [${ips.map((ip) => `{addresses: [${ip}]}`).join(', ')}]
---`;

/** One line per operation, files relative to DIR (one outside it is marked); `sniList` adds the crt-list an SNI line
 * goes to. */
export const opSummary = (list: Op[], o: { sniList?: boolean } = {}): string[] =>
  list.map((op) => {
    const rel = (f: string): string => (f.startsWith(`${DIR}/`) ? f.slice(DIR.length + 1) : `<outside ${DIR}: ${f}>`);
    switch (op.op) {
      case 'add-server':
        return `add-server ${op.section}/${op.server.name}`;
      case 'del-server':
        return `del-server ${op.section}/${op.server}`;
      case 'map-add':
      case 'map-set':
        return `${op.op} ${rel(op.file)} ${op.key} ${op.value}`;
      case 'map-del':
        return `map-del ${rel(op.file)} ${op.key}`;
      case 'map-replace':
        return `map-replace ${rel(op.file)}`;
      case 'sni-add':
      case 'sni-del':
        return o.sniList ? `${op.op} ${rel(op.list)} ${rel(op.file)} ${op.host}` : `${op.op} ${rel(op.file)} ${op.host}`;
      default:
        return `${op.op} ${rel(op.file)}`;
    }
  });
