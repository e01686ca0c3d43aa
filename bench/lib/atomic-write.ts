// Portico must never read a half-written manifest, and the convergence clock must start at the instant the new
// content becomes visible: write to a dotfile (Portico ignores those), then rename when the caller says so.
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

let counter = 0;

export interface StagedFile {
  /** Makes the new content visible; resolves once the rename returned. */
  commit(): Promise<void>;
}

export async function stageFile(dir: string, name: string, text: string): Promise<StagedFile> {
  const tmp = join(dir, `.${name}.${process.pid}.${++counter}.tmp`);
  await writeFile(tmp, text);
  return { commit: () => rename(tmp, join(dir, name)) };
}

export async function writeAtomic(dir: string, name: string, text: string): Promise<void> {
  await (await stageFile(dir, name, text)).commit();
}
