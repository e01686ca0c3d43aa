// The manifest source's rule on a real directory, with a fast rescan: a read that fails keeps the objects, only a
// successful read removes them; problems are logged once per episode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ManifestSource } from '../../src/sources/manifests/watch.js';
import type { Obj } from '../../src/sources/manifests/parse.js';

const svc = (name: string): string => `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}}\nspec: {ports: [{port: 80}]}\n`;
const RESCAN_MS = 20;

interface Harness {
  base: string;
  names: () => string[];
  logs: Record<string, unknown>[];
  /** Resolves once the latest objects are `want`, or fails after a generous deadline. */
  until: (want: string[]) => Promise<void>;
  /** Lets many rescans run (at 20 ms each), for the properties that must hold across them. */
  rescans: (n: number) => Promise<void>;
  /** Resolves once a log line matches: the source has looked. */
  logged: (re: RegExp) => Promise<void>;
}

async function withSource(roots: (base: string) => string[], setup: (base: string) => Promise<void>, fn: (h: Harness) => Promise<void>, maxFileBytes?: number, rescanMs = RESCAN_MS): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'portico-failures-'));
  const logs: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  let latest: Map<string, Obj[]> = new Map();
  await setup(base);
  const source = new ManifestSource(roots(base), log, (files) => (latest = files), { rescanMs, ...(maxFileBytes ? { maxFileBytes } : {}) });
  const names = (): string[] => [...latest.values()].flat().map((o) => (o.metadata as Obj).name as string).sort();
  try {
    latest = await source.start();
    await fn({
      base,
      names,
      logs,
      until: async (want) => {
        const deadline = Date.now() + 5000;
        while (JSON.stringify(names()) !== JSON.stringify(want)) {
          assert.ok(Date.now() < deadline, `wanted ${JSON.stringify(want)}, have ${JSON.stringify(names())}`);
          await new Promise((r) => setTimeout(r, 10));
        }
      },
      rescans: (n) => new Promise((r) => setTimeout(r, n * RESCAN_MS)),
      logged: async (re) => {
        const deadline = Date.now() + 5000;
        while (!logs.some((l) => re.test(String(l.msg)))) {
          assert.ok(Date.now() < deadline, `no log line matches ${String(re)}`);
          await new Promise((r) => setTimeout(r, 10));
        }
      },
    });
  } finally {
    source.stop();
    await rm(base, { recursive: true, force: true });
  }
}

const warnings = (logs: Record<string, unknown>[], re: RegExp): number => logs.filter((l) => l.level === 40 && re.test(String(l.msg))).length;

test('a directory root that disappears keeps its objects, warned once; back, it is read again', async () => {
  await withSource(
    (base) => [join(base, 'm')],
    async (base) => {
      await mkdir(join(base, 'm', 'sub'), { recursive: true });
      await writeFile(join(base, 'm', 'a.yaml'), svc('a'));
      await writeFile(join(base, 'm', 'sub', 'b.yaml'), svc('b'));
    },
    async ({ base, names, logs, until, rescans, logged }) => {
      assert.deepEqual(names(), ['a', 'b']);
      await rename(join(base, 'm'), join(base, 'away'));
      await logged(/does not exist/);
      await rescans(15);
      assert.deepEqual(names(), ['a', 'b']);
      assert.equal(warnings(logs, /does not exist; keeping the objects of the 2 file\(s\)/), 1);
      await rm(join(base, 'away', 'sub'), { recursive: true });
      await rename(join(base, 'away'), join(base, 'm'));
      await until(['a']); // read again, successfully: the subdirectory deleted meanwhile is gone
      assert.ok(logs.some((l) => l.msg === `${join(base, 'm')} can be read again`));
    },
  );
});

test('a root that disappears (a file, or a directory removed whole) keeps its objects; a file deleted inside a root is removed', async () => {
  await withSource(
    (base) => [join(base, 'one.yaml'), join(base, 'dir')],
    async (base) => {
      await writeFile(join(base, 'one.yaml'), svc('one'));
      await mkdir(join(base, 'dir'));
      await writeFile(join(base, 'dir', 'two.yaml'), svc('two'));
      await writeFile(join(base, 'dir', 'three.yaml'), svc('three'));
    },
    async ({ base, names, until, rescans, logged }) => {
      assert.deepEqual(names(), ['one', 'three', 'two']);
      await rm(join(base, 'one.yaml'));
      await rm(join(base, 'dir', 'two.yaml'));
      await until(['one', 'three']);
      await logged(/one\.yaml does not exist/);
      await rescans(10);
      assert.deepEqual(names(), ['one', 'three'], 'the root named on the command line keeps its objects');
      await rm(join(base, 'dir'), { recursive: true });
      await logged(/dir does not exist/);
      await rescans(10);
      assert.deepEqual(names(), ['one', 'three'], 'so does a directory root removed whole');
    },
  );
});

test('a file that grows past the cap is refused, once, and keeps the objects it held', async () => {
  await withSource(
    (base) => [base],
    async (base) => writeFile(join(base, 'f.yaml'), svc('small')),
    async ({ base, names, logs, rescans, logged }) => {
      assert.deepEqual(names(), ['small']);
      await writeFile(join(base, 'f.yaml'), `${svc('big')}${'#'.repeat(5000)}\n`);
      await logged(/refused/);
      await rescans(15);
      assert.deepEqual(names(), ['small']);
      assert.equal(logs.filter((l) => l.level === 50 && /refused: it is larger \(\d+ bytes\) than --max-manifest-file-size \(4096 bytes\)/.test(String(l.msg))).length, 1);
    },
    4096,
  );
});

test('a change reported by the watch of a root whose parent was renamed away does not drop that file', async () => {
  await withSource(
    (base) => [join(base, 'p', 'm')],
    async (base) => {
      await mkdir(join(base, 'p', 'm'), { recursive: true });
      await writeFile(join(base, 'p', 'm', 'a.yaml'), svc('a'));
      await writeFile(join(base, 'p', 'm', 'b.yaml'), svc('b'));
    },
    async ({ base, names, logs }) => {
      // The root's own watch sees nothing of its parent's rename, but still reports the change inside it, under the
      // old path, where the file is now missing. Only events count here: the periodic rescan is an hour away.
      await rename(join(base, 'p'), join(base, 'q'));
      await writeFile(join(base, 'q', 'm', 'a.yaml'), svc('a2'));
      const deadline = Date.now() + 5000;
      while (!logs.some((l) => /does not exist/.test(String(l.msg))) && JSON.stringify(names()) === '["a","b"]') {
        assert.ok(Date.now() < deadline, 'the change was never looked at');
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.deepEqual(names(), ['a', 'b'], 'a root that disappeared keeps its objects');
    },
    undefined,
    3_600_000,
  );
});
