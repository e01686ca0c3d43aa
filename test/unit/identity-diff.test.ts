// The two structures the incremental Translator keeps its bookkeeping in: IdentityTracker (what changed between two
// lists of objects, by identity) and SortedKeys (a sorted set of keys with O(log n) updates).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { IdentityTracker } from '../../src/translate/identity-diff.js';
import { SortedKeys } from '../../src/translate/sorted-keys.js';

void describe('IdentityTracker', () => {
  const [a, b, c, d, b2] = [{ n: 'a' }, { n: 'b' }, { n: 'c' }, { n: 'd' }, { n: 'b' }];
  /** Changes as sets of names: the order objects are reported in is not part of the contract. */
  const names = (ch: { added: { n: string }[]; removed: { n: string }[] }): { added: string[]; removed: string[] } => ({
    added: ch.added.map((o) => o.n).sort(),
    removed: ch.removed.map((o) => o.n).sort(),
  });

  test('the first list is all added, whatever its length', () => {
    assert.deepEqual(names(new IdentityTracker<{ n: string }>().diff([a])), { added: ['a'], removed: [] });
    assert.deepEqual(names(new IdentityTracker<{ n: string }>().diff([a, b])), { added: ['a', 'b'], removed: [] });
    assert.deepEqual(names(new IdentityTracker<{ n: string }>().diff([])), { added: [], removed: [] });
  });

  test('the same list, or the same objects in another list or order: nothing changed', () => {
    const t = new IdentityTracker<{ n: string }>();
    const list = [a, b, c];
    t.diff(list);
    assert.deepEqual(t.diff(list), { added: [], removed: [] });
    assert.deepEqual(t.diff([a, b, c]), { added: [], removed: [] });
    assert.deepEqual(t.diff([c, a, b]), { added: [], removed: [] });
  });

  test('an object replaced in place: the new one added, the old one removed', () => {
    const t = new IdentityTracker<{ n: string }>();
    t.diff([a, b, c]);
    assert.deepEqual(t.diff([a, b2, c]), { added: [b2], removed: [b] });
    // An edit and a move at once.
    assert.deepEqual(names(t.diff([b2, d, a])), { added: ['d'], removed: ['c'] });
  });

  test('objects added and removed, with the length changing', () => {
    const t = new IdentityTracker<{ n: string }>();
    t.diff([a, b]);
    assert.deepEqual(t.diff([a, b, c]), { added: [c], removed: [] });
    assert.deepEqual(t.diff([c, a]), { added: [], removed: [b] });
    assert.deepEqual(names(t.diff([d, c, b, a])), { added: ['b', 'd'], removed: [] });
    assert.deepEqual(names(t.diff([])), { added: [], removed: ['a', 'b', 'c', 'd'] });
  });
});

void describe('SortedKeys', () => {
  test('keeps its keys sorted, each once; add and delete say whether anything changed', () => {
    const s = new SortedKeys();
    const keys = ['m', 'c', 'x', 'a', 'q', 'e', 'z', 'b'];
    for (const k of keys) assert.equal(s.add(k), true, k);
    for (const k of keys) assert.equal(s.add(k), false, `${k} again`);
    assert.deepEqual(s.list, [...keys].sort());
    assert.equal(s.delete('q'), true);
    assert.equal(s.delete('q'), false);
    assert.equal(s.delete('nope'), false);
    assert.deepEqual(s.list, ['a', 'b', 'c', 'e', 'm', 'x', 'z']);
  });

  test('position: where a key is in the list, or -1', () => {
    const s = new SortedKeys();
    for (const k of ['b', 'd', 'f']) s.add(k);
    assert.deepEqual(['b', 'd', 'f'].map((k) => s.position(k)), [0, 1, 2]);
    assert.deepEqual(['a', 'c', 'g'].map((k) => s.position(k)), [-1, -1, -1]);
  });
});
