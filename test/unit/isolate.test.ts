// Bisection and exclusion bookkeeping (src/isolate.ts), with a stand-in for `haproxy -c` that rejects what a test
// says: which objects are blamed, how many checks that takes, and that a failure no object causes blames none.
// The real `haproxy -c` is exercised by test/e2e/isolation.test.ts and test/unit/render-property.test.ts.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Exclusions, changedMembers, haproxyReason, isolate, membersOf } from '../../src/isolate.js';
import type { CheckFn } from '../../src/isolate.js';
import { emptySnapshot } from '../../src/k8s/kinds.js';
import type { Snapshot } from '../../src/k8s/kinds.js';

type Obj = Record<string, unknown>;

const ing = (name: string, extra: Obj = {}): Obj => ({ kind: 'Ingress', metadata: { name, namespace: 'default' }, spec: { rules: [{ host: `${name}.test` }] }, ...extra });
const tlsIng = (name: string, secretName: string): Obj => ({ kind: 'Ingress', metadata: { name, namespace: 'default' }, spec: { tls: [{ secretName }] } });
const secret = (name: string, data = 'ok', rv?: string): Obj => ({ kind: 'Secret', metadata: { name, namespace: 'default', ...(rv ? { resourceVersion: rv } : {}) }, data: { 'tls.crt': data } });
const snap = (o: Partial<Snapshot>): Snapshot => ({ ...emptySnapshot(), ...o });
const names = (s: Snapshot): string[] => Object.values(s).flatMap((list: Obj[]) => list.map((o) => (o.metadata as Obj).name as string));

/** Rejects a snapshot holding any object named in `bad`; counts calls. */
function rejecting(bad: (s: Snapshot) => string | undefined): CheckFn & { calls: number } {
  const f = Object.assign(
    (s: Snapshot) => {
      f.calls++;
      const why = bad(s);
      return Promise.resolve(why === undefined ? { ok: true, output: '' } : { ok: false, output: `[ALERT]    (1) : config : ${why}` });
    },
    { calls: 0 },
  );
  return f;
}

const culpritNames = (r: Awaited<ReturnType<typeof isolate>>): string[] => (r.kind === 'isolated' ? r.culprits.map((c) => (c.member.obj.metadata as Obj).name as string).sort() : []);

describe('isolate', () => {
  test('one bad object among 1,000 new ones is found in about log2(1000) checks', async () => {
    const all = Array.from({ length: 1000 }, (_, i) => ing(`app-${i}`));
    const check = rejecting((s) => (names(s).includes('app-617') ? 'app-617 is bad' : undefined));
    const r = await isolate(snap({ ingresses: all }), undefined, check);
    assert.deepEqual(culpritNames(r), ['app-617']);
    assert.ok(check.calls <= 14, `${check.calls} checks`);
    assert.equal(r.kind === 'isolated' && haproxyReason(r.culprits[0]!.output), 'app-617 is bad');
  });

  test("when HAProxy names the certificate it failed on, a bad Secret among 1,000 costs four checks", async () => {
    const secrets = Array.from({ length: 1000 }, (_, i) => secret(`s-${i}`));
    const check = rejecting((s) => (names(s).includes('s-617') ? "unable to load SSL certificate into SSL Context 'certs/default_s-617.pem'." : undefined));
    const r = await isolate(snap({ secrets }), undefined, check);
    assert.deepEqual(culpritNames(r), ['s-617']);
    assert.equal(check.calls, 4);
  });

  test('five bad Secrets, each used by an Ingress, named one at a time by HAProxy: the Secrets are blamed, three checks each', async () => {
    const bad = new Set(['s-3', 's-50', 's-51', 's-120', 's-199']);
    const ingresses = Array.from({ length: 200 }, (_, i) => tlsIng(`i-${i}`, `s-${i}`));
    const secrets = Array.from({ length: 200 }, (_, i) => secret(`s-${i}`));
    // Like HAProxy, names the first certificate it cannot load, if an Ingress brings it in.
    const check = rejecting((s) => {
      const used = new Set(names(snap({ ingresses: s.ingresses })).map((n) => n.replace('i-', 's-')));
      const first = names(snap({ secrets: s.secrets })).find((n) => bad.has(n) && used.has(n));
      return first && `unable to load SSL certificate into SSL Context 'certs/default_${first}.pem'.`;
    });
    const r = await isolate(snap({ ingresses, secrets }), undefined, check);
    assert.deepEqual(culpritNames(r), [...bad].sort());
    assert.ok(check.calls <= 2 + 3 * bad.size, `${check.calls} checks`);
  });

  test('a wrong hint costs one check and the search still finds the culprit', async () => {
    const secrets = Array.from({ length: 100 }, (_, i) => secret(`s-${i}`));
    const check = rejecting((s) => (names(s).includes('s-7') ? "unable to load SSL certificate into SSL Context 'certs/default_s-8.pem'." : undefined));
    assert.deepEqual(culpritNames(await isolate(snap({ secrets }), undefined, check)), ['s-7']);
  });

  test('a check that failed by chance blames no one', async () => {
    // Fails the whole candidate and then one half-way check, never again: a timeout on a busy machine.
    let calls = 0;
    const flaky: CheckFn = () => {
      calls++;
      return Promise.resolve(calls === 1 || calls === 3 ? { ok: false, output: 'timed out' } : { ok: true, output: '' });
    };
    const r = await isolate(snap({ ingresses: Array.from({ length: 64 }, (_, i) => ing(`app-${i}`)) }), undefined, flaky);
    assert.equal(r.kind, 'not-reproduced');
  });

  test('several bad objects are each found, and only they', async () => {
    const all = Array.from({ length: 1000 }, (_, i) => ing(`app-${i}`));
    const bad = new Set(['app-3', 'app-400', 'app-401', 'app-999', 'app-12']);
    const check = rejecting((s) => names(s).find((n) => bad.has(n)));
    const r = await isolate(snap({ ingresses: all }), undefined, check);
    assert.deepEqual(culpritNames(r), [...bad].sort());
    assert.ok(check.calls <= 5 * 12, `${check.calls} checks`);
  });

  test('only objects that changed since the last good snapshot are suspects', async () => {
    const good = snap({ ingresses: [ing('a'), ing('b')] });
    const next = snap({ ingresses: [good.ingresses[0]!, ing('b'), ing('c')] }); // b: same content, new reference
    assert.deepEqual([...changedMembers(membersOf(next), good)].map((m) => m.key), ['default/c']);
    const check = rejecting((s) => (names(s).includes('c') ? 'c' : undefined));
    assert.deepEqual(culpritNames(await isolate(next, good, check)), ['c']);
  });

  test('a failure no object causes blames none, in at most three checks', async () => {
    const all = Array.from({ length: 1000 }, (_, i) => ing(`app-${i}`));
    const check = rejecting(() => 'HAProxy is broken');
    const r = await isolate(snap({ ingresses: all }), snap({ ingresses: all.slice(0, 500) }), check);
    assert.equal(r.kind, 'not-object-specific');
    assert.ok(check.calls <= 3);
  });

  test('a candidate that passes the check blames nothing (the failure was elsewhere)', async () => {
    const check = rejecting(() => undefined);
    assert.equal((await isolate(snap({ ingresses: [ing('a')] }), undefined, check)).kind, 'not-reproduced');
    assert.equal(check.calls, 1);
  });

  test('an unchanged object that HAProxy now rejects is still found (the environment changed)', async () => {
    const all = [ing('a'), ing('b'), ing('c')];
    const check = rejecting((s) => (names(s).includes('a') ? 'a' : undefined));
    const r = await isolate(snap({ ingresses: [...all, ing('d')] }), snap({ ingresses: all }), check);
    assert.deepEqual(culpritNames(r), ['a']);
  });

  test('two objects that fail only together: one is left out, the other goes live', async () => {
    const check = rejecting((s) => (names(s).includes('x') && names(s).includes('y') ? 'x with y' : undefined));
    const r = await isolate(snap({ ingresses: [ing('w'), ing('x'), ing('y'), ing('z')] }), undefined, check);
    assert.equal(culpritNames(r).length, 1);
  });

  test('a new Ingress with its bad Secret blames the Secret, not the Ingress', async () => {
    const check = rejecting((s) => (names(s).includes('uses-bad') && names(s).includes('bad-tls') ? 'cert' : undefined));
    const r = await isolate(snap({ ingresses: [tlsIng('uses-bad', 'bad-tls'), ing('other')], secrets: [secret('bad-tls')] }), undefined, check);
    assert.deepEqual(culpritNames(r), ['bad-tls']);
  });

  test('an old, unused bad Secret that a new Ingress starts to use is blamed, not the Ingress', async () => {
    const good = snap({ ingresses: [ing('other')], secrets: [secret('bad-tls')] });
    const check = rejecting((s) => (names(s).includes('uses-bad') && names(s).includes('bad-tls') ? 'cert' : undefined));
    const r = await isolate(snap({ ingresses: [...good.ingresses, tlsIng('uses-bad', 'bad-tls')], secrets: good.secrets }), good, check);
    assert.deepEqual(culpritNames(r), ['bad-tls']);
  });

  test('property: whatever objects are bad, exactly those are blamed, and the rest passes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 200 }), fc.uniqueArray(fc.nat(199), { maxLength: 8 }), fc.integer({ min: 0, max: 200 }), async (n, badIdx, goodCount) => {
        const all = Array.from({ length: n }, (_, i) => ing(`o-${i}`));
        const bad = new Set(badIdx.filter((i) => i < n).map((i) => `o-${i}`));
        const check = rejecting((s) => names(s).find((x) => bad.has(x)));
        const lastGood = snap({ ingresses: all.slice(0, goodCount).filter((o) => !bad.has((o.metadata as Obj).name as string)) });
        const r = await isolate(snap({ ingresses: all }), lastGood, check);
        if (bad.size === 0) assert.equal(r.kind, 'not-reproduced');
        else assert.deepEqual(culpritNames(r), [...bad].sort());
      }),
      { numRuns: 200 },
    );
  });
});

describe('Exclusions', () => {
  const culprit = (kind: 'secrets' | 'ingresses', obj: Obj) => ({ member: { kind, key: `default/${(obj.metadata as Obj).name as string}`, obj }, output: '[ALERT] (1) : config : no' });

  test('an excluded object stays out until it changes or goes away; a kind with nothing excluded is the same list', () => {
    const bad = secret('bad', 'x', '7');
    const ex = new Exclusions();
    ex.add(culprit('secrets', bad));
    const s = snap({ ingresses: [ing('a')], secrets: [bad, secret('fine')] });
    const f = ex.filter(s);
    assert.equal(f.ingresses, s.ingresses);
    assert.deepEqual(names(f), ['a', 'fine']);
    assert.equal(ex.filter(s).secrets, f.secrets, 'an unchanged list gives the same filtered list');
    // A relist: a new reference with the same resourceVersion and content is the same object.
    assert.deepEqual(names(ex.filter(snap({ secrets: [secret('bad', 'x', '7')] }))), []);
    assert.equal(ex.size, 1);
    assert.equal(ex.diagnostics[0]!.rule, 'haproxy-rejected');
    assert.equal(ex.diagnostics[0]!.object, 'Secret default/bad');
    // A new resourceVersion is a change: tried again, and the exclusion is gone.
    assert.deepEqual(names(ex.filter(snap({ secrets: [secret('bad', 'y', '8')] }))), ['bad']);
    assert.equal(ex.size, 0);
  });

  test('manifests: a re-parsed object with the same content stays out; edited content is tried again', () => {
    const ex = new Exclusions();
    ex.add(culprit('ingresses', ing('bad')));
    assert.deepEqual(names(ex.filter(snap({ ingresses: [ing('bad'), ing('ok')] }))), ['ok']);
    assert.deepEqual(names(ex.filter(snap({ ingresses: [ing('bad', { spec: {} }), ing('ok')] }))), ['bad', 'ok']);
    assert.equal(ex.size, 0);
  });

  test('an excluded object that went away is forgotten', () => {
    const ex = new Exclusions();
    ex.add(culprit('ingresses', ing('bad')));
    ex.filter(snap({ ingresses: [ing('ok')] }));
    assert.equal(ex.size, 0);
    assert.deepEqual(names(ex.filter(snap({ ingresses: [ing('bad')] }))), ['bad']);
  });
});

describe('haproxyReason', () => {
  test('the first ALERT line, without prefix, control characters or the closing summary', () => {
    const out = [
      '[NOTICE]   (7010) : haproxy version is 2.6.12',
      "[ALERT]    (7010) : config : parsing [haproxy.cfg:30] : unable to load SSL certificate into SSL Context 'certs/default_weak.pem'.\u001b[31m",
      '[ALERT]    (7010) : config : Error(s) found in configuration file : haproxy.cfg',
    ].join('\n');
    assert.equal(haproxyReason(out), "parsing [haproxy.cfg:30] : unable to load SSL certificate into SSL Context 'certs/default_weak.pem'.?[31m");
    assert.ok(haproxyReason(`[ALERT] (1) : ${'x'.repeat(5000)}`).length <= 403);
  });
});
