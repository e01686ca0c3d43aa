// Server-side printing: the meta.k8s.io Table `kubectl get` asks for (Accept: application/json;as=Table;v=v1;
// g=meta.k8s.io). Columns and cell formats follow pkg/printers/internalversion/printers.go for the types whose
// columns matter here; other types get the NAME / AGE pair.
import type { ResourceType } from './resources.js';
import type { JsonMap, KubeObject } from './types.js';
import { isMap } from './types.js';

interface Column {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

const NAME_COL: Column = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', priority: 0 };
const AGE_COL: Column = { name: 'Age', type: 'string', format: '', description: 'CreationTimestamp is a timestamp representing the server time when this object was created.', priority: 0 };

function col(name: string, description: string, priority = 0): Column {
  return { name, type: 'string', format: '', description, priority };
}

/** k8s.io/apimachinery/pkg/util/duration HumanDuration, which kubectl's AGE column uses. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.floor(hours / 24) % 365;
    return dy === 0 ? `${Math.floor(hours / 24 / 365)}y` : `${Math.floor(hours / 24 / 365)}y${dy}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

function age(o: KubeObject): string {
  const ts = o.metadata.creationTimestamp;
  if (!ts) return '<unknown>';
  return humanDuration(Date.now() - Date.parse(ts));
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function map(v: unknown): JsonMap {
  return isMap(v) ? v : {};
}

/** printers.go formatHosts: up to three hosts, `*` when none. */
function formatHosts(rules: unknown[]): string {
  const hosts: string[] = [];
  let more = false;
  for (const r of rules) {
    if (hosts.length === 3) more = true;
    const host = map(r).host;
    if (!more && typeof host === 'string' && host !== '') hosts.push(host);
  }
  if (hosts.length === 0) return '*';
  return more ? `${hosts.join(',')} + ${rules.length - 3} more...` : hosts.join(',');
}

/** printers.go ingressLoadBalancerStatusStringer: sorted set of IPs (else hostnames), clipped to 16 unless wide. */
function loadBalancerAddress(status: unknown): string {
  const set = new Set<string>();
  for (const e of arr(map(map(status).loadBalancer).ingress)) {
    const m = map(e);
    if (typeof m.ip === 'string' && m.ip !== '') set.add(m.ip);
    else if (typeof m.hostname === 'string' && m.hostname !== '') set.add(m.hostname);
  }
  const r = [...set].sort().join(',');
  return r.length > 16 ? `${r.slice(0, 13)}...` : r;
}

interface Printer {
  columns: Column[];
  cells(o: KubeObject): unknown[];
}

const PRINTERS: Record<string, Printer> = {
  ingresses: {
    columns: [
      NAME_COL,
      col('Class', 'The name of the IngressClass resource that should be used for additional configuration'),
      col('Hosts', 'Hosts that incoming requests are matched against before the ingress rule'),
      col('Address', 'Address is a list containing ingress points for the load-balancer'),
      col('Ports', 'Ports of TLS configurations that open'),
      AGE_COL,
    ],
    cells: (o) => {
      const spec = map(o.spec);
      const cls = typeof spec.ingressClassName === 'string' ? spec.ingressClassName : '<none>';
      return [o.metadata.name, cls, formatHosts(arr(spec.rules)), loadBalancerAddress(o.status), arr(spec.tls).length ? '80, 443' : '80', age(o)];
    },
  },
  ingressclasses: {
    columns: [NAME_COL, col('Controller', 'Controller that is in charge of handling this class.'), col('Parameters', 'A reference to a resource with additional parameters.'), AGE_COL],
    cells: (o) => {
      const spec = map(o.spec);
      const p = map(spec.parameters);
      const params = typeof p.kind === 'string' ? `${typeof p.apiGroup === 'string' ? p.apiGroup : ''}/${p.kind}/${String(p.name)}` : '<none>';
      return [o.metadata.name, typeof spec.controller === 'string' ? spec.controller : '', params, age(o)];
    },
  },
  leases: {
    columns: [NAME_COL, col('Holder', 'The holder of the lease'), AGE_COL],
    cells: (o) => [o.metadata.name, typeof map(o.spec).holderIdentity === 'string' ? map(o.spec).holderIdentity : '', age(o)],
  },
};

const DEFAULT_PRINTER: Printer = { columns: [NAME_COL, AGE_COL], cells: (o) => [o.metadata.name, age(o)] };

export type IncludeObject = 'None' | 'Metadata' | 'Object';

function rowObject(o: KubeObject, include: IncludeObject): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return o;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

export function toTable(
  t: ResourceType,
  items: KubeObject[],
  listMeta: Record<string, unknown>,
  opts: { apiVersion: string; include: IncludeObject },
): Record<string, unknown> {
  const p = PRINTERS[t.resource] ?? DEFAULT_PRINTER;
  return {
    kind: 'Table',
    apiVersion: opts.apiVersion,
    metadata: listMeta,
    columnDefinitions: p.columns,
    rows: items.map((o) => {
      const object = rowObject(o, opts.include);
      return { cells: p.cells(o), ...(object === undefined ? {} : { object }) };
    }),
  };
}
