// `portico check`: what would carry over from ingress-nginx, Ingress by Ingress and annotation by annotation, before
// the switch. Pure: the same annotation registry and the same translator that serve traffic decide every answer, so
// the report and the running controller can never disagree.
import type { Obj } from '../k8s/objects.js';
import { isObject, objectName, stringMap } from '../k8s/objects.js';
import type { Snapshot } from '../k8s/kinds.js';
import { ANNOTATIONS, parseIngressAnnotations } from '../translate/annotations/index.js';
import { NGINX_PREFIX, PORTICO_PREFIX } from '../translate/annotations/registry.js';
import type { Annotation } from '../translate/annotations/registry.js';
import { snippetDirectives } from '../translate/annotations/snippets.js';
import { Findings } from '../translate/diagnostics.js';
import { translate } from '../translate/translate.js';
import type { TranslateOptions } from '../translate/translate.js';
import type { Diagnostic } from '../model/types.js';
import { configMapEntries } from '../translate/configmaps.js';
import { readGlobalSettings, settingReferences } from '../translate/settings/index.js';
import { objectRef } from '../translate/diagnostics.js';

export const STATUSES = ['supported', 'partial', 'ignored', 'unsupported', 'unknown', 'invalid'] as const;
export type Status = (typeof STATUSES)[number];
/** What a user loses when an annotation has one of these: `portico check` exits 1. */
export const LOSSES: ReadonlySet<Status> = new Set(['unsupported', 'unknown', 'invalid']);

export interface AnnotationReport {
  key: string;
  value: string;
  status: Status;
  note: string;
}

export interface IngressReport {
  namespace: string;
  name: string;
  served: boolean;
  /** Why the Ingress is (not) served: the class rule that decided, or why it is invalid. Not in the JSON shape. */
  reason: string;
  annotations: AnnotationReport[];
  diagnostics: { field: string; rule: string; message: string }[];
  /** Errors the translator reports on a served Ingress (a part left out): something is lost. Not in the JSON shape. */
  errors: number;
}

export interface CheckReport {
  ingresses: IngressReport[];
  configmap: AnnotationReport[];
  /** The --configmap ConfigMap was not among the objects read (`namespace/name`). Not in the JSON shape. */
  missingConfigMap?: string;
  summary: { ingresses: number; annotations: number; byStatus: Record<Status, number> };
}

const BY_NAME = new Map<string, Annotation>(ANNOTATIONS.map((a) => [a.name, a]));
const SNIPPETS: ReadonlySet<string> = new Set(['configuration-snippet', 'server-snippet', 'auth-snippet']);

/** The report for every Ingress of `snapshot`, as Portico started with `opts` would serve them. */
export function check(snapshot: Snapshot, opts: TranslateOptions): CheckReport {
  const result = translate(snapshot, opts);
  const summaries = new Map(result.model.ingresses.map((s) => [s.ingress, s]));
  const byObject = new Map<string, Diagnostic[]>();
  for (const d of result.diagnostics) byObject.set(d.object, [...(byObject.get(d.object) ?? []), d]);
  const ingresses = snapshot.ingresses
    .map((raw) => ingressReport(raw, summaries, byObject))
    .sort((a, b) => (a.namespace === b.namespace ? cmp(a.name, b.name) : cmp(a.namespace, b.namespace)));
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<Status, number>;
  let annotations = 0;
  for (const i of ingresses)
    for (const a of i.annotations) {
      byStatus[a.status]++;
      annotations++;
    }
  const configMap = opts.configMap === undefined ? undefined : snapshot.configMaps.find((cm) => objectName(cm, true) === opts.configMap);
  return {
    ingresses,
    configmap: configMap ? settingReports(configMap, opts.configMap!, result.diagnostics) : [],
    ...(opts.configMap !== undefined && !configMap ? { missingConfigMap: opts.configMap } : {}),
    summary: { ingresses: ingresses.length, annotations, byStatus },
  };
}

/**
 * The settings ConfigMap's keys, classified. A key that names an object (add-headers, proxy-set-headers,
 * ssl-dh-param) also carries what translate found reading that object, as serve reports it: the object missing, or
 * entries of it left out. Such a key is `invalid`, as a list key is when some of its entries are left out (G1): part
 * of what the user set does not apply.
 */
function settingReports(configMap: Obj, key: string, diagnostics: readonly Diagnostic[]): AnnotationReport[] {
  // Named as translate names it, so that its findings on the key are found.
  const object = namespacedRef('ConfigMap', key);
  const read = readGlobalSettings(configMapEntries(configMap), object);
  const findings = new Map<string, Diagnostic[]>();
  for (const ref of settingReferences(read.settings)) {
    const referenced = namespacedRef(ref.kind, ref.name);
    // The referenced object's findings, and the settings' own finding on the key (the object was not found).
    const of = diagnostics.filter((d) => d.rule === ref.key && (d.object === referenced || (d.object === object && d.field === `data[${ref.key}]`)));
    if (of.length > 0) findings.set(ref.key, of);
  }
  return read.reports.map((r) => {
    const of = findings.get(r.key);
    if (!of) return r;
    return { ...r, status: 'invalid' as const, note: of.map((d) => (d.object === object ? d.message : `${d.object} ${d.field}: ${d.message}`)).join('; ') };
  });
}

function namespacedRef(kind: string, key: string): string {
  const slash = key.indexOf('/');
  return objectRef(kind, { namespace: key.slice(0, slash), name: key.slice(slash + 1) });
}

/** Whether the report holds something a user would lose by switching (exit status 1). */
export function losesSomething(r: CheckReport): boolean {
  return r.summary.byStatus.unsupported + r.summary.byStatus.unknown + r.summary.byStatus.invalid > 0 || r.ingresses.some((i) => i.errors > 0) || r.configmap.some((c) => LOSSES.has(c.status)) || r.missingConfigMap !== undefined;
}

function ingressReport(raw: Obj, summaries: ReadonlyMap<string, { owned: boolean; valid: boolean; classReason: string }>, byObject: ReadonlyMap<string, Diagnostic[]>): IngressReport {
  const meta = isObject(raw.metadata) ? raw.metadata : {};
  const namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
  const name = typeof meta.name === 'string' ? meta.name : '';
  const key = objectName(raw, true);
  const summary = summaries.get(key);
  const served = summary !== undefined && summary.owned && summary.valid;
  const reason = summary === undefined ? 'not read (no name)' : !summary.valid ? 'invalid: see its diagnostics' : summary.classReason;
  const diagnostics = byObject.get(`Ingress ${key}`) ?? [];
  return {
    namespace,
    name,
    served,
    reason,
    annotations: [...withReferencedFindings(annotationReports(stringMap(meta.annotations), key), namespace, served, byObject), ...nonStrings(meta.annotations)].sort((a, b) => cmp(a.key, b.key)),
    diagnostics: diagnostics.map((d) => ({ field: d.field, rule: d.rule, message: d.message })),
    errors: served ? diagnostics.filter((d) => d.level === 'error').length : 0,
  };
}

/** The annotations that name a ConfigMap or Secret, and the rule serve's findings inside that object carry. */
const REFERENCING: ReadonlyMap<string, { kind: 'ConfigMap' | 'Secret'; rule: string }> = new Map([
  ['custom-headers', { kind: 'ConfigMap', rule: 'custom-headers' }],
  ['auth-proxy-set-headers', { kind: 'ConfigMap', rule: 'auth-proxy-set-headers' }],
  ['fastcgi-params-configmap', { kind: 'ConfigMap', rule: 'fastcgi-params' }],
  ['auth-secret', { kind: 'Secret', rule: 'auth-secret' }],
  ['auth-tls-secret', { kind: 'Secret', rule: 'auth-tls-secret' }],
  ['proxy-ssl-secret', { kind: 'Secret', rule: 'proxy-ssl-secret' }],
]);

/**
 * An annotation that names a ConfigMap or Secret also carries what translate found inside that object, as serve
 * reports it: entries left out, users that cannot log in, a certificate that cannot be used. Those findings name the
 * object and the annotation's rule; the row is then `invalid`, as a settings key naming such an object is: part of
 * what the user set does not apply. Only on a served Ingress, and not on a row already `ignored` (a portico.dev/ twin
 * wins, or the value is empty). Findings belong to the object, not to the Ingress that had it read: two Ingresses
 * reading one Secret differently (another auth-type) each get both's findings.
 */
function withReferencedFindings(reports: AnnotationReport[], namespace: string, served: boolean, byObject: ReadonlyMap<string, Diagnostic[]>): AnnotationReport[] {
  if (!served) return reports;
  return reports.map((r) => {
    const ref = REFERENCING.get(r.key.slice(r.key.indexOf('/') + 1));
    if (!ref || r.status === 'ignored') return r;
    const value = r.value.trim();
    const slash = value.indexOf('/');
    const target = slash < 0 ? { namespace, name: value } : { namespace: value.slice(0, slash), name: value.slice(slash + 1) };
    if (target.name === '' || target.namespace === '') return r;
    const found = (byObject.get(objectRef(ref.kind, target)) ?? []).filter((d) => d.rule === ref.rule);
    if (found.length === 0) return r;
    const inside = [...new Set(found.map((d) => `${d.object} ${d.field}: ${d.message}`))].join('; ');
    return { ...r, status: r.status === 'unsupported' || r.status === 'unknown' ? r.status : 'invalid', note: r.note === '' ? inside : `${r.note}; ${inside}` };
  });
}

/** Annotation values that are not strings (`ssl-redirect: false` unquoted): the API server refuses the Ingress (V1). */
function nonStrings(annotations: unknown): AnnotationReport[] {
  if (!isObject(annotations)) return [];
  return Object.entries(annotations)
    .filter(([k, v]) => typeof v !== 'string' && (k.startsWith(NGINX_PREFIX) || k.startsWith(PORTICO_PREFIX)))
    .map(([key, v]) => ({ key, value: JSON.stringify(v) ?? String(v), status: 'invalid' as const, note: 'annotation values must be strings: quote it (the API server refuses such an Ingress; read from a file, the annotation is ignored: rule V1)' }));
}

/** Each annotation under either prefix, classified. Keys outside the two prefixes are not ingress-nginx's: left out. */
export function annotationReports(annotations: Readonly<Record<string, string>>, ingress: string): AnnotationReport[] {
  const f = new Findings(`Ingress ${ingress}`);
  parseIngressAnnotations({ ...annotations }, f, ingress);
  const findingsOf = (key: string): Diagnostic[] => f.list.filter((d) => d.field === `metadata.annotations[${key}]`);
  const out: AnnotationReport[] = [];
  for (const key of Object.keys(annotations).sort()) {
    const nginx = key.startsWith(NGINX_PREFIX);
    if (!nginx && !key.startsWith(PORTICO_PREFIX)) continue;
    const name = key.slice((nginx ? NGINX_PREFIX : PORTICO_PREFIX).length);
    const value = annotations[key]!;
    out.push({ key, value, ...classify(name, value, findingsOf(key), nginx && annotations[PORTICO_PREFIX + name] !== undefined && annotations[PORTICO_PREFIX + name] !== '') });
  }
  return out;
}

function classify(name: string, value: string, findings: Diagnostic[], shadowed: boolean): { status: Status; note: string } {
  const rule = (r: string): Diagnostic | undefined => findings.find((d) => d.rule === r);
  const others = findings.filter((d) => !['A1', 'A2', 'A3', 'A4', 'A6'].includes(d.rule)).map((d) => `${d.message} (${d.rule})`);
  const a = BY_NAME.get(name);
  if (value === '') return { status: 'ignored', note: 'an empty value counts as unset, as in ingress-nginx' };
  if (rule('A3')) return { status: 'unknown', note: rule('A3')!.message };
  if (rule('A2')) return { status: 'unsupported', note: 'Portico does not support this ingress-nginx annotation yet: it has no effect' };
  const invalid = rule('A1');
  if (invalid && a?.rule === 'A1') return { status: 'invalid', note: invalid.message };
  if (SNIPPETS.has(name) && rule('A4')) return snippetClass(name, value, rule('A4')!.message, a);
  if (rule('A6')) return { status: 'unsupported', note: rule('A6')!.message };
  if (shadowed) return { status: 'ignored', note: `${PORTICO_PREFIX}${name} is set too, and wins` };
  if (!a) return { status: 'unknown', note: 'not an annotation Portico reads' };
  const extra = others.length > 0 ? ` ${others.join(' ')}` : '';
  if (a.doc.status !== undefined) return { status: 'unsupported', note: `${a.doc.differences ?? a.doc.what}${extra}` };
  if (a.doc.noEffect !== undefined) return { status: 'ignored', note: `${a.doc.noEffect}${extra}` };
  if (a.doc.differences !== undefined || others.length > 0) return { status: 'partial', note: `${a.doc.differences ?? ''}${extra}`.trim() };
  return { status: 'supported', note: '' };
}

/** A snippet with something Portico does not translate: left out whole; the note goes directive by directive. */
function snippetClass(name: string, value: string, message: string, a: Annotation | undefined): { status: Status; note: string } {
  const lines = snippetDirectives(value);
  const left = lines.some((l) => !l.translated);
  const report = lines.map((l) => (l.directive === '' ? l.note : `line ${l.line} ${l.directive}: ${l.translated ? 'translated' : `not translated: ${l.note}`}`)).join('; ');
  // A snippet that is read whole but whose effect is partial (proxy_set_header in a server-snippet, auth-snippet).
  if (!left) return { status: a?.doc.status !== undefined ? 'unsupported' : 'partial', note: `${message}. ${report}` };
  return { status: 'unsupported', note: `the ${name} is left out whole, and the Ingress served without it. ${report}` };
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
