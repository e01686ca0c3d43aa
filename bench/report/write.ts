// bench/results/<timestamp>.json and .md, and latest.md (full runs only): the file the README links to.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderMarkdown } from './markdown.js';
import type { Results } from './types.js';

// dist/bench/report/write.js -> bench/results in the source tree, so results can be committed.
export const RESULTS_DIR = fileURLToPath(new URL('../../../bench/results/', import.meta.url));

/** `latest`: also replace latest.md, which the README links to as the last full run: a quick or partial run must not
 * take its place. */
export async function writeResults(r: Results, latest: boolean): Promise<{ json: string; md: string; markdown: string }> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const stamp = r.startedAt.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z');
  const markdown = renderMarkdown(r);
  const json = join(RESULTS_DIR, `${stamp}.json`);
  const md = join(RESULTS_DIR, `${stamp}.md`);
  await writeFile(json, `${JSON.stringify(r, null, 2)}\n`);
  await writeFile(md, markdown);
  if (latest) await writeFile(join(RESULTS_DIR, 'latest.md'), markdown);
  return { json, md, markdown };
}
