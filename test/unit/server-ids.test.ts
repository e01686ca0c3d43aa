// Server ids on a consistent hash (src/haproxy/render/server-ids.ts): in HAProxy's range, the same in the
// configuration and in a runtime `add server`, unique within a section when two names hash alike, and given only to
// the sections that balance on a hash (cookie affinity, upstream-hash-by).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Server } from '../../src/model/types.js';
import { balancesOnHash, MAX_SERVER_ID, serverId, serverIds } from '../../src/haproxy/render/server-ids.js';
import { renderConfig } from '../../src/haproxy/render/render.js';
import type { Op } from '../../src/haproxy/runtime/plan.js';
import { OPTIONS } from './render-model.js';
import { annotatedIngress as ing, model, ops, reloadedWith, svc } from './plan-fixtures.js';

const server = (name: string): Server => ({ name, address: '10.0.0.1', port: 80, ready: true });
/** Two names of the shape endpoints.ts makes whose hashes are equal (found by search over 10.0.x.y addresses). */
const CLASH = ['ep_10_0_1_141_8080', 'ep_10_0_2_255_8080'] as const;

void describe('server ids', () => {
  test('each in 1 .. 2^20 - 1, and the same for the same name', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 80 }), (name) => {
        const id = serverId(name);
        return Number.isInteger(id) && id >= 1 && id <= MAX_SERVER_ID && MAX_SERVER_ID === 2 ** 20 - 1 && id === serverId(name);
      }),
    );
  });

  test('a section: every name its hash, unless an earlier name (by name) has it: then the next free id', () => {
    assert.equal(serverId(CLASH[0]), serverId(CLASH[1]));
    const ids = serverIds([server(CLASH[1]), server('ep_10_0_0_1_80'), server(CLASH[0])]);
    assert.equal(ids.get(CLASH[0]), serverId(CLASH[0]));
    assert.equal(ids.get(CLASH[1]), serverId(CLASH[0]) + 1);
    assert.equal(ids.get('ep_10_0_0_1_80'), serverId('ep_10_0_0_1_80'));
  });

  test("distinct points on HAProxy's ring within a section, whatever the names (lb_chash.c: hash(id * 4096 + n), 32 bits)", () => {
    const points = (id: number): number[] => Array.from({ length: 16 }, (_, n) => (Math.imul(id, 4096) + n) >>> 0);
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 20 }), { maxLength: 50 }), (names) => {
        const ids = [...serverIds(names.map(server)).values()];
        return new Set(ids.flatMap(points)).size === names.length * 16;
      }),
    );
    // Also for a section as large as a Service gets: 3,000 endpoints.
    const big = [...serverIds(Array.from({ length: 3000 }, (_, i) => server(`ep_10_${i >> 16}_${(i >> 8) & 255}_${i & 255}_8080`))).values()];
    assert.equal(new Set(big.flatMap(points)).size, 3000 * 16);
  });

  test('only sections that balance on a hash', () => {
    assert.equal(balancesOnHash(undefined), false);
    assert.equal(balancesOnHash({ affinity: true }), true);
    assert.equal(balancesOnHash({ balance: { id: 'x', algorithm: 'hash', key: [{ variable: 'request_uri' }] } }), true);
    assert.equal(balancesOnHash({ balance: { id: 'x', algorithm: 'leastconn' } }), false);
  });
});

void describe('server ids in the configuration and at runtime', () => {
  const sticky = { 'affinity': 'cookie' };
  const hashed = { 'upstream-hash-by': '$request_uri' };
  const serverLines = (text: string): string[] => text.split('\n').filter((l) => l.startsWith('  server ep_'));
  const added = (list: Op[]): { name: string; id: number | undefined }[] => list.flatMap((o) => (o.op === 'add-server' ? [{ name: o.server.name, id: o.id }] : []));

  for (const [what, annotations] of [['cookie affinity', sticky], ['upstream-hash-by', hashed]] as const) {
    test(`${what}: every server line has its id; a server added at runtime gets the very id a reload would give it`, () => {
      const three = model(svc('web', ['10.0.0.1', '10.0.0.2', '10.0.0.3']) + ing('s', 's.test', 'web', annotations));
      const lines = serverLines(renderConfig(three, OPTIONS));
      assert.equal(lines.length, 3);
      for (const l of lines) assert.match(l, new RegExp(`^  server (\\S+) \\S+ id ${serverId(/^ {2}server (\S+)/.exec(l)![1]!)}(\\s|$)`));
      const four = model(svc('web', ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4']) + ing('s', 's.test', 'web', annotations));
      const p = ops(reloadedWith(three), four);
      assert.deepEqual(added(p.ops), [{ name: 'ep_10_0_0_4_3000', id: serverId('ep_10_0_0_4_3000') }]);
      assert.ok(serverLines(renderConfig(four, OPTIONS)).some((l) => l.includes(`ep_10_0_0_4_3000 10.0.0.4:3000 id ${serverId('ep_10_0_0_4_3000')}`)));
    });
  }

  test('a round-robin section has no ids, in the configuration or at runtime', () => {
    const one = model(svc('web', ['10.0.0.1', '10.0.0.2']) + ing('s', 's.test', 'web'));
    assert.ok(serverLines(renderConfig(one, OPTIONS)).every((l) => !l.includes(' id ')));
    const p = ops(reloadedWith(one), model(svc('web', ['10.0.0.1', '10.0.0.2', '10.0.0.3']) + ing('s', 's.test', 'web')));
    assert.deepEqual(added(p.ops), [{ name: 'ep_10_0_0_3_3000', id: undefined }]);
  });
});
