// Per-object isolation. Translate and render validate every object, but if HAProxy still rejects a candidate (a
// certificate its OpenSSL refuses, say), keeping the last good configuration live would freeze every tenant's later
// changes. Instead the objects to blame are found by bisection with `haproxy -c` over what changed since the last
// configuration that went live; exactly those are left out, with a diagnostic, and everything else goes live. An
// object left out stays out until it changes (a new object, resourceVersion or content).
import type { Diagnostic } from './model/types.js';
import { KINDS, KIND_FIELDS, emptySnapshot, keyOf } from './k8s/kinds.js';
import type { KindField, KindSpec, Snapshot } from './k8s/kinds.js';
import { asString, isObject, metadataOf as meta, stringMap } from './k8s/objects.js';
import type { Obj } from './k8s/objects.js';
import { objectRef } from './translate/diagnostics.js';

// Bisection order is the kinds registry's order (src/k8s/kinds.ts): an object that only matters through another
// one comes before it. Bisection keeps an object that passes on its own and blames the one whose addition then
// fails, so a new Ingress and the bad certificate it names blame the Secret (the host keeps serving, with the default
// certificate), and a new IngressClass that takes over a bad Ingress blames the Ingress.

/** How a check's output starts when render refused a value, or translate threw (a bug some input triggers). */
export const RENDER_REFUSED = 'render refused';
export const TRANSLATE_FAILED = 'translate failed';
/** Diagnostic rules of an object left out: by what refused it. */
export const ISOLATION_RULES = { haproxy: 'haproxy-rejected', render: 'render-refused', translate: 'translate-failed' } as const;

/** One object of a snapshot. Compared by identity: two objects under one key (a hostile input) stay apart. */
export interface Member {
  kind: KindField;
  /** `namespace/name` (namespaced kinds) or `name`. */
  key: string;
  obj: Obj;
}

/** `haproxy -c` (after translate and render) on the snapshot made of these objects. Throws when it cannot tell. */
export type CheckFn = (snapshot: Snapshot) => Promise<{ ok: boolean; output: string }>;

export interface Culprit {
  member: Member;
  /** The check's output with the culprit added to a configuration that passed: HAProxy's words about it. */
  output: string;
}

export type IsolationResult =
  | { kind: 'isolated'; culprits: Culprit[]; checks: number }
  /** `haproxy -c` accepts the whole candidate (a start or reload failed for another reason), or a failure did not
   * happen again: no object is blamed on one failure. */
  | { kind: 'not-reproduced'; checks: number }
  /** Even a configuration without any object fails: HAProxy itself is broken, not an object. */
  | { kind: 'not-object-specific'; output: string; checks: number };

export function membersOf(s: Snapshot): Member[] {
  const out: Member[] = [];
  for (const kind of KIND_FIELDS) {
    const list = s[kind].map((obj) => ({ kind, key: keyOf(kind, obj), obj }));
    // By key; objects under one key keep their input order (the sort is stable).
    list.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    out.push(...list);
  }
  return out;
}

export function snapshotOf(members: Iterable<Member>): Snapshot {
  const s = emptySnapshot();
  for (const m of members) s[m.kind].push(m.obj);
  return s;
}

/** JSON text of an object, or undefined for one that has none (a cycle): such an object always counts as changed. */
function jsonOf(o: Obj): string | undefined {
  try {
    return JSON.stringify(o);
  } catch {
    return undefined;
  }
}

function resourceVersion(o: Obj): string {
  return asString(meta(o).resourceVersion);
}

/** The same object as before: the same reference, else the same resourceVersion and content (a relist hands over new
 * references; a manifest file is parsed afresh when any object in it changes). */
function sameObject(a: Obj, b: Obj, jsonB: string | undefined = jsonOf(b)): boolean {
  if (a === b) return true;
  if (resourceVersion(a) !== resourceVersion(b) || jsonB === undefined) return false;
  return jsonOf(a) === jsonB;
}

/** The objects of `next` that are not in `lastGood` as they are now: added or changed. */
export function changedMembers(all: Member[], lastGood: Snapshot | undefined): Set<Member> {
  const changed = new Set<Member>();
  if (!lastGood) {
    for (const m of all) changed.add(m);
    return changed;
  }
  const before = new Map<string, Obj[]>();
  const refs = new Set<Obj>();
  for (const kind of KIND_FIELDS) {
    for (const o of lastGood[kind]) {
      refs.add(o);
      const k = `${kind}\0${keyOf(kind, o)}`;
      const list = before.get(k);
      if (list) list.push(o);
      else before.set(k, [o]);
    }
  }
  for (const m of all) {
    if (refs.has(m.obj)) continue;
    const old = before.get(`${m.kind}\0${m.key}`) ?? [];
    if (!old.some((o) => sameObject(o, m.obj))) changed.add(m);
  }
  return changed;
}

/**
 * The objects `m` brings into the configuration when it is added: an Ingress's TLS Secrets, Services and their
 * EndpointSlices; a Service's EndpointSlices. When an Ingress is blamed and leaving those out instead helps, the
 * blame goes to them: an old, unused bad certificate that a new Ingress starts to use is the certificate's fault.
 */
function dependsOn(m: Member): (other: Member) => boolean {
  if (m.kind !== 'ingresses' && m.kind !== 'services') return () => false;
  const ns = m.key.slice(0, m.key.indexOf('/'));
  const secrets = new Set<string>();
  const services = new Set<string>();
  if (m.kind === 'services') services.add(asString(meta(m.obj).name));
  else {
    const spec = isObject(m.obj.spec) ? m.obj.spec : {};
    const addBackend = (b: unknown): void => {
      if (isObject(b) && isObject(b.service)) services.add(asString(b.service.name));
    };
    addBackend(spec.defaultBackend);
    for (const t of Array.isArray(spec.tls) ? spec.tls : []) if (isObject(t)) secrets.add(asString(t.secretName));
    for (const r of Array.isArray(spec.rules) ? spec.rules : []) {
      const http = isObject(r) && isObject(r.http) ? r.http : {};
      for (const p of Array.isArray(http.paths) ? http.paths : []) if (isObject(p)) addBackend(p.backend);
    }
  }
  return (o) => {
    if (!o.key.startsWith(`${ns}/`)) return false;
    const name = o.key.slice(ns.length + 1);
    if (o.kind === 'secrets') return secrets.has(name);
    if (o.kind === 'services') return m.kind === 'ingresses' && services.has(name);
    if (o.kind === 'endpointSlices') return services.has(stringMap(meta(o.obj).labels)['kubernetes.io/service-name'] ?? '');
    return false;
  };
}

/**
 * Finds the objects to leave out of `next` (the snapshot HAProxy rejected) so that the rest passes `check`.
 * Suspects are the objects that changed since `lastGood` (the last snapshot that went live; none at start); if the
 * unchanged ones fail on their own, every object is a suspect; if even no object at all fails, no object is to
 * blame. Costs 2 checks, plus about log2(suspects) + 2 per culprit (3 when HAProxy's message names it).
 */
export async function isolate(next: Snapshot, lastGood: Snapshot | undefined, check: CheckFn): Promise<IsolationResult> {
  let checks = 0;
  const run = (members: Iterable<Member>): Promise<{ ok: boolean; output: string }> => {
    checks++;
    return check(snapshotOf(members));
  };
  const all = membersOf(next);
  const full = await run(all);
  if (full.ok) return { kind: 'not-reproduced', checks };
  const changed = changedMembers(all, lastGood);
  let base = all.filter((m) => !changed.has(m));
  let suspects = all.filter((m) => changed.has(m));
  if (base.length > 0 && !(await run(base)).ok) {
    // Something that went live before fails now: HAProxy or its environment changed. Every object is a suspect.
    base = [];
    suspects = all;
  }
  if (base.length === 0) {
    const empty = await run([]);
    if (!empty.ok) return { kind: 'not-object-specific', output: empty.output, checks };
  }
  if (suspects.length === 0) return { kind: 'not-object-specific', output: full.output, checks };

  /**
   * Binary search for one culprit. Precondition: `base` passes, `base` + `suspects` fails with `failed`. A half that
   * passes joins the base; a half that fails is searched on. Returns the culprit, the base it was found against
   * (checked: it passes) and HAProxy's output for that base with the culprit.
   */
  const findOne = async (base: Member[], suspects: Member[], failed: string): Promise<{ culprit: Member; base: Member[]; failed: string }> => {
    while (suspects.length > 1) {
      const a = suspects.slice(0, Math.ceil(suspects.length / 2));
      const withA = await run([...base, ...a]);
      if (withA.ok) {
        base = [...base, ...a];
        suspects = suspects.slice(a.length);
      } else {
        suspects = a;
        failed = withA.output;
      }
    }
    const culprit = suspects[0]!;
    const isDependency = dependsOn(culprit);
    const deps = base.filter(isDependency);
    if (deps.length > 0) {
      const without = base.filter((o) => !isDependency(o));
      if ((await run([...without, culprit])).ok) return findOne([...without, culprit], deps, failed);
    }
    return { culprit, base, failed };
  };

  /**
   * HAProxy often names the file it failed on (a certificate). Precondition as for findOne. Checks the objects that
   * bring the named one in (its Ingresses) on their own, then with it: when that fails, it is the culprit, found in
   * two checks instead of a search. Undefined when the hint does not hold.
   */
  const fromHint = async (base: Member[], open: Member[], failed: string): Promise<{ culprit: Member; base: Member[]; failed: string } | undefined> => {
    const named = open.find((m) => mentionedIn(failed, m));
    if (!named) return undefined;
    const referrers = open.filter((m) => m !== named && dependsOn(m)(named));
    if (referrers.length > 0) {
      if (!(await run([...base, ...referrers])).ok) return undefined;
      base = [...base, ...referrers];
    }
    const withNamed = await run([...base, named]);
    return withNamed.ok ? undefined : { culprit: named, base, failed: withNamed.output };
  };

  // One culprit at a time, each against the base grown so far; then one check of everything not blamed tells
  // whether another culprit is left (and its output may name the next one). About log2(suspects) + 2 checks per
  // culprit, 3 when HAProxy names it.
  const culprits: Culprit[] = [];
  const blamed = new Set<Member>();
  const rest = (good: Member[]): Member[] => {
    const known = new Set(good);
    return all.filter((m) => !known.has(m) && !blamed.has(m));
  };
  let failed = full.output;
  for (let open = suspects; open.length > 0; ) {
    let found = await fromHint(base, open, failed);
    if (!found) {
      found = await findOne(base, open, failed);
      // Once more, so that a check that failed by chance (a timeout on a busy machine) never blames an innocent object.
      if ((await run([...found.base, found.culprit])).ok) return { kind: 'not-reproduced', checks };
    }
    culprits.push({ member: found.culprit, output: found.failed });
    blamed.add(found.culprit);
    base = found.base;
    open = rest(base);
    if (open.length === 0) break;
    const r = await run([...base, ...open]);
    if (r.ok) break;
    failed = r.output;
  }
  return { kind: 'isolated', culprits, checks };
}

/** Whether HAProxy's output names a file or section rendered from `m`: a Secret's certificate file
 * (`<namespace>_<name>.pem`, render's certificate id) or a Service's backend section (`be_<namespace>_<name>_`). */
function mentionedIn(output: string, m: Member): boolean {
  const slash = m.key.indexOf('/');
  if (slash < 0) return false;
  const id = `${m.key.slice(0, slash)}_${m.key.slice(slash + 1)}`;
  if (m.kind === 'secrets') return output.includes(`/${id}.pem`) || output.includes(`'${id}.pem`);
  if (m.kind === 'services') return output.includes(`be_${id}_`);
  return false;
}

/** HAProxy's own reason, one line of printable ASCII: the first ALERT that is not the closing summary. */
export function haproxyReason(output: string): string {
  const lines = output.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const alerts = lines.filter((l) => /^\[(ALERT|EMERG)\]/.test(l) && !/Error\(s\) found in configuration file|Fatal errors found in configuration/.test(l));
  const line = alerts[0] ?? lines.find((l) => !/^\[NOTICE\]/.test(l)) ?? 'no reason given';
  const text = line
    .replace(/^\[(ALERT|EMERG|WARNING)\]\s*(\(\d+\)\s*)?:\s*(config\s*:\s*)?/, '')
    .replace(/[^\x20-\x7e]+/g, '?')
    .replace(/\s+/g, ' ');
  return text.length > 400 ? `${text.slice(0, 400)}...` : text;
}

export function isolationDiagnostic(c: Culprit): Diagnostic {
  const m = meta(c.member.obj);
  const spec: KindSpec = KINDS[c.member.kind];
  const { kind, namespaced } = spec;
  const object = objectRef(kind, namespaced ? { namespace: asString(m.namespace) || 'default', name: asString(m.name) } : { name: asString(m.name) });
  const field = spec.dataKind ? 'data' : 'metadata';
  const reason = haproxyReason(c.output);
  const until = 'so it is left out until it changes';
  if (c.output.startsWith(TRANSLATE_FAILED))
    return { level: 'error', object, field, rule: ISOLATION_RULES.translate, message: `Portico fails on this ${kind} (a bug: please report it), ${until}: ${reason}` };
  if (c.output.startsWith(RENDER_REFUSED))
    return { level: 'error', object, field, rule: ISOLATION_RULES.render, message: `a value of this ${kind} must not reach HAProxy's configuration, ${until}: ${reason}` };
  return { level: 'error', object, field, rule: ISOLATION_RULES.haproxy, message: `HAProxy rejects the configuration with this ${kind}, ${until}: ${reason}` };
}

interface Excluded {
  kind: KindField;
  obj: Obj;
  json: string | undefined;
  diagnostic: Diagnostic;
}

/**
 * The objects left out because HAProxy rejected them. `filter` leaves them out of every snapshot until they change
 * (then they are tried again) or go away. A kind with nothing left out is handed on as the very same list, and a
 * list that did not change gives the same filtered list as last time: the incremental Translator's work stays
 * proportional to the change.
 */
export class Exclusions {
  private readonly byKey = new Map<string, Excluded[]>();
  private version = 0;
  private readonly memo = new Map<KindField, { input: Obj[]; output: Obj[]; version: number }>();

  get size(): number {
    let n = 0;
    for (const list of this.byKey.values()) n += list.length;
    return n;
  }

  get diagnostics(): Diagnostic[] {
    return [...this.byKey.values()].flat().map((e) => e.diagnostic);
  }

  add(culprit: Culprit): Diagnostic {
    const { kind, key, obj } = culprit.member;
    const diagnostic = isolationDiagnostic(culprit);
    const k = `${kind}\0${key}`;
    this.byKey.set(k, [...(this.byKey.get(k) ?? []), { kind, obj, json: jsonOf(obj), diagnostic }]);
    this.version++;
    return diagnostic;
  }

  filter(s: Snapshot): Snapshot {
    if (this.byKey.size === 0) return s;
    const out = { ...s };
    for (const kind of KIND_FIELDS) out[kind] = this.filterKind(kind, s[kind]);
    return out;
  }

  private filterKind(kind: KindField, list: Obj[]): Obj[] {
    const memo = this.memo.get(kind);
    if (memo && memo.input === list && memo.version === this.version) return memo.output;
    const mine = [...this.byKey.entries()].filter(([k]) => k.startsWith(`${kind}\0`));
    if (mine.length === 0) {
      this.memo.delete(kind);
      return list;
    }
    const wanted = new Map(mine);
    const matched = new Set<Excluded>();
    const output = list.filter((o) => {
      const candidates = wanted.get(`${kind}\0${keyOf(kind, o)}`);
      const hit = candidates?.find((e) => !matched.has(e) && sameObject(o, e.obj, e.json));
      if (!hit) return true;
      matched.add(hit);
      return false;
    });
    // An entry whose object changed or went away is dropped: a changed object is tried again.
    let dropped = false;
    for (const [k, entries] of mine) {
      const kept = entries.filter((e) => matched.has(e));
      if (kept.length === entries.length) continue;
      dropped = true;
      if (kept.length === 0) this.byKey.delete(k);
      else this.byKey.set(k, kept);
    }
    if (dropped) this.version++;
    this.memo.set(kind, { input: list, output, version: this.version });
    return output;
  }
}
