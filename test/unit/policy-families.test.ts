// Every policy family against every set of its maps in use: the rules it writes may read only maps that have lines,
// since render writes a feature's map file only then and HAProxy refuses a configuration that names a file it cannot
// open (an access list whose deny list covers its allow list has no flip; a Secret whose every line was refused has
// no user). And no two families register one Lua name.
import { statusCodes } from '../../src/haproxy/render/global-settings.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { POLICY_FAMILIES } from '../../src/haproxy/render/render.js';
import type { Phase } from '../../src/haproxy/render/policy/family.js';

const PHASES: Phase[] = ['access', 'answer', 'limit', 'upstream', 'response', 'backend', 'gate'];

/** Every non-empty set of `items` that holds what each of its members implies. */
function* subsets<T extends string>(items: readonly T[], implies: Partial<Record<T, readonly T[]>> = {}): Generator<Set<T>> {
  for (let mask = 1; mask < 1 << items.length; mask++) {
    const set = new Set(items.filter((_, i) => (mask >> i) & 1));
    if ([...set].every((m) => (implies[m] ?? []).every((n) => set.has(n)))) yield set;
  }
}

test("a family's rules read only the maps it has lines in, whichever of them those are", () => {
  let checked = 0;
  const problems = new Set<string>();
  for (const family of POLICY_FAMILIES) {
    const maps = Object.keys(family.maps);
    for (const inUse of subsets<string>(maps, (family.implies ?? {}))) {
      for (const phase of PHASES) {
        const rules = family.rules?.[phase];
        if (!rules) continue;
        const read = new Set<string>();
        // With and without some route's satisfy: any (its map is another family's, handed over as a file).
        for (const tls of [false, true]) {
          for (const satisfy of [{}, { satisfyAny: '/maps/satisfyAny' }]) {
            rules({ file: (m) => (read.add(m), `/maps/${m}`), inUse: inUse as unknown as ReadonlySet<never>, hasId: 'HASID', routeId: 'ID', tls, keys: [], self: { http: '127.0.0.1:80', https: '127.0.0.1:443' }, statuses: statusCodes(undefined), ...satisfy });
          }
        }
        const unwritten = [...read].filter((m) => !inUse.has(m));
        if (unwritten.length > 0) problems.add(`${maps[0]}.. / ${phase}: reads ${unwritten.join(',')} with only ${[...inUse].join(',')}`);
        checked++;
      }
    }
  }
  assert.ok(checked > 100, `only ${checked} combinations checked`);
  assert.deepEqual([...problems].slice(0, 40), []);
});

test('no two families register one Lua name (HAProxy would keep the first and refuse the other)', () => {
  const names = POLICY_FAMILIES.flatMap((f) => [...(f.lua?.text ?? '').matchAll(/core\.register_\w+\('([A-Za-z0-9_]+)'/g)].map((m) => m[1]!));
  assert.ok(names.length >= 5, names.join(','));
  assert.deepEqual(names, [...new Set(names)]);
});
