// Fixed label values for the reload and runtime-update series: a reload's reason is free text in the log (it names
// the backend, the feature), and that text must never become a label value, or every Service would be a series.
import type { Op } from '../haproxy/runtime/plan.js';

export const RELOAD_REASONS = ['start', 'configmap', 'externalname', 'backend-policy', 'no-spare-section', 'new-feature', 'feature-removed', 'runtime-failure', 'other'] as const;
export type ReloadReason = (typeof RELOAD_REASONS)[number];

/** The class of a reason runtime/plan.ts (or apply.ts) gives for a reload; `other` for one this list does not know
 * yet (a unit test reads plan.ts and fails on any reason that lands there). */
export function reloadReasonClass(reason: string): ReloadReason {
  if (reason === 'start') return 'start';
  if (/^the settings of the --configmap ConfigMap changed/.test(reason)) return 'configmap';
  if (/ExternalName Service added or changed$/.test(reason)) return 'externalname';
  if (/policy changed$|needs a section of its own$/.test(reason)) return 'backend-policy';
  if (/spare backend section left for /.test(reason)) return 'no-spare-section';
  if (/^the frontend has no rule for /.test(reason)) return 'new-feature';
  if (/^no host passes TLS through any more$/.test(reason)) return 'feature-removed';
  if (/^runtime API failed earlier/.test(reason)) return 'runtime-failure';
  return 'other';
}

export const RUNTIME_OP_KINDS = ['server', 'map', 'certificate', 'ca', 'backend-tls'] as const;
export type RuntimeOpKind = (typeof RUNTIME_OP_KINDS)[number];

export function runtimeOpKind(op: Op['op']): RuntimeOpKind {
  switch (op) {
    case 'add-server':
    case 'del-server':
      return 'server';
    case 'map-add':
    case 'map-set':
    case 'map-del':
    case 'map-replace':
      return 'map';
    case 'cert-new':
    case 'cert-set':
    case 'cert-del':
    case 'sni-add':
    case 'sni-del':
      return 'certificate';
    case 'ca-new':
    case 'ca-del':
      return 'ca';
    case 'backend-tls-new':
    case 'backend-tls-del':
      return 'backend-tls';
  }
}

export function countByKind(ops: readonly Op[]): Map<RuntimeOpKind, number> {
  const counts = new Map<RuntimeOpKind, number>();
  for (const o of ops) {
    const k = runtimeOpKind(o.op);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return counts;
}
