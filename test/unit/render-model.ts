// Shared by render's unit tests: routing models built by hand (as translate would build them, or as a bug in it
// might), the render options they are rendered with, and a reader for one section of the configuration text.
import assert from 'node:assert/strict';
import type { Backend, Certificate, HostGroup, PathRoute, RouteTarget, RoutingModel, Server } from '../../src/model/types.js';
import type { RenderOptions } from '../../src/haproxy/render/render.js';
import type { EdgeSettings } from '../../src/haproxy/render/edge.js';
import { testRenderOptions } from '../render-options.js';

/** The goldens' options (serve's defaults for the edge), with one spare backend section. */
export const OPTIONS: RenderOptions = testRenderOptions({ spareBackends: 1 });

export const BACKEND = 'be_default_web_80';
export const server = (over: Partial<Server> = {}): Server => ({ name: 'ep_10_0_0_1_8080', address: '10.0.0.1', port: 8080, ready: true, ...over });
export const backend = (over: Partial<Backend> = {}): Backend => ({ name: BACKEND, ref: { namespace: 'default', service: 'web', port: 80 }, servers: [server()], ...over });
export const target = (name = BACKEND): RouteTarget => ({ backend: name, policy: { redirectToHttps: false }, source: { ingress: 'default/web', rule: 0, path: 0 } });
export const exact = (path: string, name = BACKEND): PathRoute => ({ ...target(name), path, pathType: 'Exact' });
export const prefix = (path: string, name = BACKEND): PathRoute & { matchPrefix: string } => ({ ...target(name), path, pathType: 'Prefix', matchPrefix: `${path.replace(/\/+$/, '')}/` });
export const group = (over: Partial<HostGroup> = {}): HostGroup => ({ key: 'a.example', exact: [exact('/exact')], prefix: [prefix('/api')], defaultBackend: target(), ...over });
export const certificate = (id = 'default_tls'): Certificate => ({ id, secret: 'default/tls', pem: 'CERT AND KEY\n', dnsNames: ['a.example'], notBefore: '2020-01-01T00:00:00.000Z', notAfter: '2030-01-01T00:00:00.000Z', sha256: 'ab' });
export const model = (over: Partial<RoutingModel> = {}): RoutingModel => ({
  hostGroups: [group()],
  catchAll: target(),
  backends: [backend()],
  certificates: [certificate()],
  sni: [{ host: 'a.example', certificate: 'default_tls' }],
  ingresses: [],
  ...over,
});

/** Edge settings over OPTIONS' (the per-client limits and TLS settings field by field). */
export type EdgeOverrides = Partial<Omit<EdgeSettings, 'perClient' | 'tls'>> & { perClient?: Partial<EdgeSettings['perClient']>; tls?: Partial<EdgeSettings['tls']> };

export function edgeSettings(over: EdgeOverrides = {}, base: EdgeSettings = OPTIONS.edge): EdgeSettings {
  return { ...base, ...over, perClient: { ...base.perClient, ...over.perClient }, tls: { ...base.tls, ...over.tls } };
}

/** OPTIONS with `over` applied, and `edge` applied to its edge settings. */
export function withEdge(edge: EdgeOverrides, over: Partial<RenderOptions> = {}): RenderOptions {
  return { ...OPTIONS, ...over, edge: edgeSettings(edge, over.edge ?? OPTIONS.edge) };
}

/** Whether the configuration has a section with this header line (`frontend portico_http`, `backend per_client`). */
export function hasSection(config: string, header: string): boolean {
  return config.split('\n').includes(header);
}

/** The lines of one section, without their indent, comments and blank lines (the header not included). */
export function sectionLines(config: string, header: string): string[] {
  const lines = config.split('\n');
  const start = lines.indexOf(header);
  assert.ok(start >= 0, `no section ${JSON.stringify(header)}`);
  const out: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (/^\S/.test(line)) break;
    const l = line.trim();
    if (l !== '' && !l.startsWith('#')) out.push(l);
  }
  return out;
}
