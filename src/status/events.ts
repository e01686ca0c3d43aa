// Diagnostics become Kubernetes Events on the object they are about (what `kubectl describe` shows). Deduplicated
// like client-go's EventCorrelator: the same reason and message on the same object bumps `count` on one Event.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import type { Diagnostic } from '../model/types.js';
import { KINDS, KIND_FIELDS } from '../k8s/kinds.js';
import type { KindField } from '../k8s/kinds.js';
import { isObject } from '../k8s/objects.js';
import type { Obj } from '../k8s/objects.js';
import type { KubeClient } from '../sources/kubernetes/client.js';

// Every kind Portico reads can be the object of a diagnostic: taken from the one registry of kinds.
const BY_KIND = new Map<string, { apiVersion: string; store: KindField }>(KIND_FIELDS.map((f) => [KINDS[f].kind, { apiVersion: KINDS[f].group === '' ? KINDS[f].version : `${KINDS[f].group}/${KINDS[f].version}`, store: f }] as const));

/** A reason is a short CamelCase word (kubectl prints it in a column): one per rule family. */
export function reasonFor(rule: string): string {
  if (/^V\d/.test(rule) || rule.startsWith('path-')) return 'InvalidIngress';
  if (/^(M|D)\d/.test(rule)) return 'RouteConflict';
  if (/^B\d/.test(rule)) return 'BackendUnavailable';
  if (/^T\d/.test(rule) || rule.startsWith('tls-')) return 'TLSCertificate';
  if (rule.startsWith('service-')) return 'InvalidService';
  if (/^C\d/.test(rule)) return 'IngressClass';
  if (/^G\d/.test(rule)) return 'InvalidSetting';
  if (rule === 'haproxy-rejected' || rule === 'render-refused' || rule === 'translate-failed') return 'ConfigurationRejected';
  return 'Warning';
}

/** Parses `Kind namespace/name` or `Kind name` as produced by objectRef. */
function parseRef(ref: string): { kind: string; namespace: string; name: string } | undefined {
  const m = /^([A-Za-z]+) (?:([a-z0-9-]+)\/)?([a-z0-9.-]+)$/.exec(ref);
  return m ? { kind: m[1]!, namespace: m[2] ?? '', name: m[3]! } : undefined;
}

export type ObjectLookup = (store: KindField, key: string) => Obj | undefined;

export class EventRecorder {
  private readonly sent = new Map<string, { name: string; namespace: string; count: number; first: string }>();
  /** Bounds a storm (a bad rollout touching thousands of objects) to this many API writes per sync. */
  private readonly perSyncLimit = 200;

  constructor(
    private readonly client: KubeClient,
    private readonly lookup: ObjectLookup,
    private readonly o: { controllerName: string; instance: string },
    private readonly log: Logger,
  ) {}

  async record(diagnostics: Diagnostic[]): Promise<void> {
    let budget = this.perSyncLimit;
    for (const d of diagnostics) {
      if (budget <= 0) break;
      const ref = parseRef(d.object);
      const kind = ref ? BY_KIND.get(ref.kind) : undefined;
      if (!ref || !kind) continue;
      const obj = this.lookup(kind.store, `${ref.namespace}/${ref.name}`);
      const meta = isObject(obj?.metadata) ? obj.metadata : undefined;
      if (!meta) continue;
      const reason = reasonFor(d.rule);
      const message = `${d.field}: ${d.message} (rule ${d.rule})`.slice(0, 1024);
      const key = `${typeof meta.uid === 'string' ? meta.uid : `${ref.namespace}/${ref.name}`}\0${reason}\0${message}`;
      budget--;
      await this.emit(key, ref, kind.apiVersion, meta, reason, message);
    }
  }

  private async emit(key: string, ref: { kind: string; namespace: string; name: string }, apiVersion: string, meta: Obj, reason: string, message: string): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    // Events about cluster-scoped objects (IngressClass) must live in "default": the API server rejects them
    // elsewhere (event.namespace must match involvedObject.namespace, which is empty).
    const namespace = ref.namespace || 'default';
    const prev = this.sent.get(key);
    try {
      if (prev) {
        prev.count++;
        await this.client.request('PATCH', `/api/v1/namespaces/${encodeURIComponent(prev.namespace)}/events/${encodeURIComponent(prev.name)}`, {
          body: { count: prev.count, lastTimestamp: now },
          contentType: 'application/merge-patch+json',
        });
        return;
      }
      const name = `${ref.name}.${Date.now().toString(16)}${randomBytes(2).toString('hex')}`;
      await this.client.request('POST', `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`, {
        body: {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name, namespace },
          involvedObject: { apiVersion, kind: ref.kind, namespace: ref.namespace || undefined, name: ref.name, uid: meta.uid, resourceVersion: meta.resourceVersion },
          reason,
          message,
          // Every diagnostic is something for the owner to fix; Normal events would be noise.
          type: 'Warning',
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: 'portico' },
          reportingComponent: this.o.controllerName,
          reportingInstance: this.o.instance,
        },
      });
      this.sent.set(key, { name, namespace, count: 1, first: now });
    } catch (e) {
      this.log.warn({ component: 'events', object: `${ref.kind} ${ref.namespace}/${ref.name}`, err: (e as Error).message }, 'could not record event');
    }
  }
}
