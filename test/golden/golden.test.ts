// Golden tests: manifests -> parse -> store -> translate -> render, compared with files checked in next to them.
//
// Every directory test/golden/<case>/ holding `in.yaml` is a case:
//   in.yaml              multi-document manifests; starts with a comment naming the spec rules and the expected outcome
//   options.json         optional: overrides of the translate options below
//   out.json             expected serializeResult(translate(...)): the routing model and the diagnostics
//   render.txt           expected HAProxy configuration, then every generated file under a `### <path>` header
//                        (certificates as `<pem sha256=...>`, never their bytes); a section or file that is the
//                        same as in fixed.txt is shown by its header and a line saying so
//
// test/golden/fixed.txt is what render gives for no objects at all: the global and defaults sections, the two
// frontends as they are while no route uses a policy feature, the fixed sections and files. A change to that text
// shows once, there, instead of in every case; a case whose frontends carry feature rules shows them in full.
//   expect-render-error  optional marker: render is expected to throw; render.txt then holds the error message
//   must-not-render.txt  optional: one string per line that must not occur anywhere in render.txt (hostile inputs)
//
// UPDATE_GOLDEN=1 writes out.json and render.txt instead of comparing. Review every change to them by hand against
// the spec: these files are the contract, not a snapshot of whatever the code does today.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseManifestText } from '../../src/sources/manifests/parse.js';
import { snapshotFromFiles } from '../../src/store/store.js';
import { translate } from '../../src/translate/translate.js';
import { emptySnapshot, perKind } from '../../src/k8s/kinds.js';
import type { Snapshot } from '../../src/k8s/kinds.js';
import type { TranslateOptions } from '../../src/translate/translate.js';
import { serializeResult } from '../../src/model/serialize.js';
import { render } from '../../src/haproxy/render/render.js';
import type { RenderOptions } from '../../src/haproxy/render/render.js';
import { testRenderOptions } from '../render-options.js';

// This file runs as dist/test/golden/golden.test.js: three levels up is the repository root.
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const CASES_DIR = join(REPO_ROOT, 'test', 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const DEFAULT_OPTIONS: TranslateOptions = {
  controllerName: 'portico.dev/ingress-controller',
  ingressClass: 'portico',
  implicitIngressClass: true,
  checkCreateOnlyRules: true,
  sslRedirect: true,
};

const RENDER_OPTIONS: RenderOptions = testRenderOptions();

const DEFAULT_CERT_PEM = 'DEFAULT-CERT\n';

type Obj = Record<string, unknown>;

function caseNames(): string[] {
  return readdirSync(CASES_DIR)
    .filter((d) => statSync(join(CASES_DIR, d)).isDirectory() && existsSync(join(CASES_DIR, d, 'in.yaml')))
    .sort();
}

function loadOptions(dir: string): TranslateOptions {
  const file = join(dir, 'options.json');
  if (!existsSync(file)) return { ...DEFAULT_OPTIONS };
  const raw: unknown = JSON.parse(readFileSync(file, 'utf8'));
  assert.ok(typeof raw === 'object' && raw !== null && !Array.isArray(raw), 'options.json must hold an object');
  const known = new Set([...Object.keys(DEFAULT_OPTIONS), 'defaultCertificateSecret', 'configMap', 'watchIngressWithoutClass']);
  for (const k of Object.keys(raw)) assert.ok(known.has(k), `options.json: unknown option ${k}`);
  return { ...DEFAULT_OPTIONS, ...(raw as Partial<TranslateOptions>) };
}

function loadSnapshot(dir: string): Snapshot {
  const parsed = parseManifestText(readFileSync(join(dir, 'in.yaml'), 'utf8'));
  if (!parsed.ok) assert.fail(`in.yaml does not parse: ${parsed.error} (line ${parsed.line ?? '?'})`);
  const { snapshot, duplicates } = snapshotFromFiles(new Map([['in.yaml', parsed.objects]]));
  // A duplicate would be dropped silently and make the case test less than it claims.
  assert.deepEqual(duplicates, [], 'in.yaml defines the same object twice');
  return snapshot;
}

/** The same objects, each kind's list reordered by `reorder`. */
function reordered(s: Snapshot, reorder: (list: Obj[]) => Obj[]): Snapshot {
  return perKind((f) => reorder([...s[f]]));
}

function rotate(list: Obj[]): Obj[] {
  if (list.length < 2) return list;
  const k = Math.floor(list.length / 2) + 1;
  return [...list.slice(k % list.length), ...list.slice(0, k % list.length)];
}

/** Fisher-Yates with a fixed linear congruential generator: a third ordering, the same on every run. */
function seededShuffle(list: Obj[]): Obj[] {
  let seed = 0x2545f491;
  const next = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 0x100000000;
  };
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** The render output as one text: configuration, then each file sorted by path; certificates by fingerprint only. */
function renderText(snapshot: Snapshot, opts: TranslateOptions): string {
  const { model } = translate(snapshot, opts);
  const { config, files } = render(model, RENDER_OPTIONS, DEFAULT_CERT_PEM);
  let out = config.endsWith('\n') ? config : `${config}\n`;
  for (const [path, content] of [...files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const body = path.endsWith('.pem') ? `<pem sha256=${sha256(content)}>\n` : content;
    out += `### ${path}\n${body}${body === '' || body.endsWith('\n') ? '' : '\n'}`;
  }
  return out;
}

/** The text cut into sections: a configuration section (from its unindented header line) or a `### file`. */
function sections(text: string): [header: string, body: string][] {
  const out: [string, string][] = [];
  for (const line of text.split('\n')) {
    const header = line.startsWith('### ') || (/^[a-z]/.test(line) && !line.startsWith(' '));
    if (header || out.length === 0) out.push([header ? line : '', header ? '' : `${line}\n`]);
    else out[out.length - 1]![1] += `${line}\n`;
  }
  return out;
}

const FIXED_FILE = join(CASES_DIR, 'fixed.txt');
const SAME_AS_FIXED = '  (as in test/golden/fixed.txt)\n';

/** A case's render text with every section that fixed.txt holds unchanged cut down to its header. */
function againstFixed(text: string, fixed: string): string {
  const known = new Map(sections(fixed));
  return sections(text)
    .map(([h, body]) => (h !== '' && known.get(h) === body ? `${h}\n${SAME_AS_FIXED}` : `${h === '' ? '' : `${h}\n`}${body}`))
    .join('');
}

function compareOrWrite(file: string, actual: string): void {
  if (UPDATE) {
    writeFileSync(file, actual);
    return;
  }
  assert.ok(existsSync(file), `${file} is missing: run with UPDATE_GOLDEN=1, then review it against the spec`);
  assert.equal(actual, readFileSync(file, 'utf8'), `${file} differs from the output`);
}

/** Invariants for every case: whatever the input, the HAProxy artefacts hold printable ASCII only and every map
 * line is exactly one key and one value. */
function checkRenderInvariants(text: string): void {
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.startsWith('<pem sha256=')) return;
    assert.match(line, /^[\x20-\x7e]*$/, `render.txt line ${i + 1} holds a control or non-ASCII character`);
    // HAProxy reads at most 64 words a line and truncates the rest with an error (quoted text counts as one word,
    // so this count errs on the safe side).
    if (!line.startsWith('#') && !line.trimStart().startsWith('#')) assert.ok(line.trim().split(/\s+/).length <= 64, `render.txt line ${i + 1} has more than 64 words`);
  });
  let section = '';
  for (const line of lines) {
    if (line.startsWith('### ')) {
      section = line.slice(4);
      continue;
    }
    if (section.endsWith('.map') && line !== '')
      assert.match(line, /^\S+ \S+$/, `${section}: map line ${JSON.stringify(line.slice(0, 200))} is not "key value"`);
  }
}

const cases = caseNames();
const fixedText = renderText(emptySnapshot(), DEFAULT_OPTIONS);

void describe('golden', () => {
  void test('at least one case exists', () => {
    assert.ok(cases.length > 0, `no case directories found under ${CASES_DIR}`);
  });

  void test('fixed.txt: the configuration and files for no objects at all', () => {
    checkRenderInvariants(fixedText);
    compareOrWrite(FIXED_FILE, fixedText);
  });

  for (const name of cases) {
    void test(name, () => {
      const dir = join(CASES_DIR, name);
      const opts = loadOptions(dir);
      const snapshot = loadSnapshot(dir);

      const serialized = serializeResult(translate(snapshot, opts));
      compareOrWrite(join(dir, 'out.json'), serialized);

      const expectError = existsSync(join(dir, 'expect-render-error'));
      let rendered: string;
      try {
        rendered = renderText(snapshot, opts);
      } catch (e) {
        if (!expectError) throw new Error(`render threw: ${(e as Error).message}`, { cause: e });
        compareOrWrite(join(dir, 'render.txt'), `### render error\n${(e as Error).message}\n`);
        return;
      }
      assert.ok(!expectError, 'render succeeded although the case has an expect-render-error marker');
      checkRenderInvariants(rendered);
      compareOrWrite(join(dir, 'render.txt'), againstFixed(rendered, fixedText));

      const forbiddenFile = join(dir, 'must-not-render.txt');
      if (existsSync(forbiddenFile)) {
        const forbidden = readFileSync(forbiddenFile, 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('//'));
        for (const s of forbidden) assert.ok(!rendered.includes(s), `render.txt contains forbidden string ${JSON.stringify(s)}`);
      }

      // translate and render must not depend on the order in which objects arrive.
      for (const [label, reorder] of [
        ['reversed', (l: Obj[]) => l.reverse()],
        ['rotated', rotate],
        ['shuffled', seededShuffle],
      ] as const) {
        const other = reordered(snapshot, reorder);
        assert.equal(serializeResult(translate(other, opts)), serialized, `translate output changes when the input is ${label}`);
        assert.equal(renderText(other, opts), rendered, `render output changes when the input is ${label}`);
      }
    });
  }
});
