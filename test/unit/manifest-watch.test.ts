// The manifest source on a real directory: every kind of change must reach the controller through file-system
// events alone. The periodic full rescan is set to an hour here, so nothing below can pass by waiting for it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManifestSource } from '../../src/sources/manifests/watch.js';
import type { Obj } from '../../src/sources/manifests/parse.js';
import { createLogger } from '../../src/log.js';

const svc = (name: string, port: number): string => `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}}\nspec: {ports: [{port: ${port}}]}\n`;

/** Services seen in the latest change, as name:port, sorted. */
function services(files: Map<string, Obj[]>): string[] {
  const out: string[] = [];
  for (const objects of files.values())
    for (const o of objects) out.push(`${(o.metadata as Obj).name as string}:${((o.spec as Obj).ports as Obj[])[0]!.port as number}`);
  return out.sort();
}

async function withSource(fn: (dir: string, next: (want: string[]) => Promise<void>, changes: () => number) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'portico-watch-'));
  let latest: Map<string, Obj[]> | undefined;
  let count = 0;
  let wake: (() => void) | undefined;
  const source = new ManifestSource([dir], createLogger('json', 'error'), (files) => {
    latest = files;
    count++;
    wake?.();
  }, { rescanMs: 3_600_000 });
  try {
    await writeFile(join(dir, 'base.yaml'), svc('base', 1));
    await source.start();
    const next = async (want: string[]): Promise<void> => {
      const deadline = Date.now() + 5000;
      while (!latest || JSON.stringify(services(latest)) !== JSON.stringify(want)) {
        const left = deadline - Date.now();
        assert.ok(left > 0, `wanted ${JSON.stringify(want)}, last saw ${JSON.stringify(latest ? services(latest) : undefined)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    };
    await fn(dir, next, () => count);
  } finally {
    source.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

test('edits, atomic replacements, new files, new directories and deletions are seen through events alone', async () => {
  await withSource(async (dir, next) => {
    await writeFile(join(dir, 'base.yaml'), svc('base', 2));
    await next(['base:2']);
    // The way editors and kubectl-style tools write: a dotfile temporary renamed into place.
    await writeFile(join(dir, '.base.yaml.tmp'), svc('base', 3));
    await rename(join(dir, '.base.yaml.tmp'), join(dir, 'base.yaml'));
    await next(['base:3']);
    await writeFile(join(dir, 'extra.yml'), svc('extra', 1));
    await next(['base:3', 'extra:1']);
    await mkdir(join(dir, 'team-a'));
    await writeFile(join(dir, 'team-a', 'a.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'a' }, spec: { ports: [{ port: 7 }] } }));
    await next(['a:7', 'base:3', 'extra:1']);
    await writeFile(join(dir, 'team-a', 'a.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'a' }, spec: { ports: [{ port: 8 }] } }));
    await next(['a:8', 'base:3', 'extra:1']);
    await rm(join(dir, 'extra.yml'));
    await next(['a:8', 'base:3']);
    await rm(join(dir, 'team-a'), { recursive: true });
    await next(['base:3']);
  });
});

test('a ConfigMap volume update (the ..data link swapped to a new directory) is seen through events alone', async () => {
  await withSource(async (dir, next) => {
    // The layout the kubelet writes: each file is a link through ..data, which points at a timestamped directory.
    await mkdir(join(dir, '..2026_11_24_a'));
    await writeFile(join(dir, '..2026_11_24_a', 'app.yaml'), svc('app', 1));
    await symlink('..2026_11_24_a', join(dir, '..data'));
    await symlink(join('..data', 'app.yaml'), join(dir, 'app.yaml'));
    await next(['app:1', 'base:1']);
    await mkdir(join(dir, '..2026_11_24_b'));
    await writeFile(join(dir, '..2026_11_24_b', 'app.yaml'), svc('app', 2));
    await symlink('..2026_11_24_b', join(dir, '..data_tmp'));
    await rename(join(dir, '..data_tmp'), join(dir, '..data'));
    await next(['app:2', 'base:1']);
  });
});

test('writing a dotfile (an editor swap file, a temporary) is not a change', async () => {
  await withSource(async (dir, next, changes) => {
    await writeFile(join(dir, 'base.yaml'), svc('base', 2));
    await next(['base:2']);
    const before = changes();
    await writeFile(join(dir, '.base.yaml.swp'), 'not yaml at all: [');
    await writeFile(join(dir, 'other.yaml'), svc('other', 1));
    await next(['base:2', 'other:1']);
    assert.equal(changes(), before + 1, 'only the manifest file counted');
  });
});
