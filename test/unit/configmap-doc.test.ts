// docs/configmap.md is generated from the settings registry; this test fails when they disagree (and rewrites the
// file with UPDATE_DOCS=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SETTINGS } from '../../src/translate/settings/index.js';
import { configMapDoc } from '../../src/translate/settings/docs.js';

const DOC = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..'), 'docs', 'configmap.md');

void test('docs/configmap.md lists every ingress-nginx ConfigMap key as the registry has it', () => {
  const expected = configMapDoc(SETTINGS);
  if (process.env.UPDATE_DOCS === '1') writeFileSync(DOC, expected);
  assert.equal(readFileSync(DOC, 'utf8'), expected, 'regenerate with UPDATE_DOCS=1');
});
