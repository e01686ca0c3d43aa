// docs/annotations.md is generated from the annotation registry; this test fails when they disagree (and rewrites
// the file with UPDATE_DOCS=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ANNOTATIONS } from '../../src/translate/annotations/index.js';
import { annotationsDoc } from '../../src/translate/annotations/docs.js';

const DOC = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'), 'docs', 'annotations.md');

void test('docs/annotations.md lists every ingress-nginx annotation as the registry has it', () => {
  const expected = annotationsDoc(ANNOTATIONS);
  if (process.env.UPDATE_DOCS === '1') writeFileSync(DOC, expected);
  assert.equal(readFileSync(DOC, 'utf8'), expected, 'regenerate with UPDATE_DOCS=1');
});
