// A guard against creeping cost (issue 10, section 7): the user-space instructions HAProxy executes for one plain
// HTTP request under the configuration Portico generates for one Ingress, counted by valgrind's callgrind, must not
// grow past the baseline in instructions-baseline.json by more than TOLERANCE. Every per-request rule added to render
// shows up here, where CPU time on a shared CI machine could not show it: counts of the same configuration stay within
// about 0.3% of each other (bench/README.md). It is counted exactly as the bench's instructions section counts it (bench/lib/callgrind.ts,
// bench/peers/portico-config.ts), so the bench says what each rule family costs when this test fails.
//
// After a deliberate change of cost (a new rule, a new HAProxy), measure a new baseline and commit it with the reason:
//   npm run build && UPDATE_BASELINE=1 node --test dist/test/perf/
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { instructionsPerRequest, valgrindAvailable } from '../../bench/lib/callgrind.js';
import { stopAll } from '../../bench/lib/processes.js';
import { porticoCountSetup } from '../../bench/peers/portico-config.js';
import { settings } from '../../bench/settings.js';

// This file runs as dist/test/perf/instructions.test.js: three levels up is the repository root.
const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BASELINE_FILE = join(REPO_ROOT, 'test', 'perf', 'instructions-baseline.json');
/** Three times the widest spread seen (0.3%); below one more set-header (about 1,600 instructions, 2.6%), above one
 * more rule behind a gate (about 230): such rules pass one by one, but the baseline stays put, so their sum fails. */
const TOLERANCE = 0.01;
/** The bench's own (full mode), so that both count the same thing the same way. */
const REQUESTS = settings(false).instructions.requests;
const UPDATE = process.env.UPDATE_BASELINE === '1';
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';

interface Baseline {
  howToUpdate: string;
  instructionsPerRequest: number;
  measured: { date: string; commit: string; haproxy: string; valgrind: string; samples: number[] };
}

const dir = mkdtempSync(join(tmpdir(), 'portico-perf-'));
after(async () => {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
});

const firstLine = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' }).split('\n')[0]!.trim();
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const valgrind = valgrindAvailable();
const skip = !valgrind && !IN_CI ? 'valgrind is not installed (apt-get install valgrind); CI runs this test' : false;

test('instructions per plain HTTP request under Portico\'s configuration stay within the baseline', { skip, timeout: 300_000 }, async (t) => {
  assert.ok(valgrind, 'valgrind is not installed, and CI must run this test: .ci/run installs it (apt-get install valgrind)');
  const setup = await porticoCountSetup(dir);
  let runs = 0;
  const measure = (): Promise<number> => instructionsPerRequest({ cfg: setup.file, port: setup.port, host: setup.host, requests: REQUESTS, outFile: join(dir, `count-${runs++}`) });
  try {
    const haproxy = firstLine('haproxy', ['-v']).replace(/ - https.*/, '');
    if (UPDATE) {
      // Three counts, the median kept: a baseline is measured once and trusted for long.
      const samples = [await measure(), await measure(), await measure()].map(Math.round);
      const commit = firstLine('git', ['-C', REPO_ROOT, 'rev-parse', '--short', 'HEAD']);
      const dirty = execFileSync('git', ['-C', REPO_ROOT, 'status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '' ? ' plus uncommitted changes' : '';
      const baseline: Baseline = {
        howToUpdate: 'After a deliberate change of cost: npm run build && UPDATE_BASELINE=1 node --test dist/test/perf/ (three counts, the median kept), then commit this file saying why. See test/perf/instructions.test.ts.',
        instructionsPerRequest: median(samples),
        measured: { date: new Date().toISOString().slice(0, 10), commit: commit + dirty, haproxy, valgrind: firstLine('valgrind', ['--version']), samples },
      };
      writeFileSync(BASELINE_FILE, `${JSON.stringify(baseline, null, 2)}\n`);
      t.diagnostic(`wrote ${BASELINE_FILE}: ${baseline.instructionsPerRequest} instructions per request (counts ${samples.join(', ')})`);
      return;
    }
    const baseline = JSON.parse(readFileSync(BASELINE_FILE, 'utf8')) as Baseline;
    const limit = baseline.instructionsPerRequest * (1 + TOLERANCE);
    const samples = [await measure()];
    // One count over the limit is counted twice more and the median judged, so that a rare slow count (an unlucky
    // spread of event-loop wake-ups) fails nothing, while a real increase fails every time.
    if (samples[0]! > limit) samples.push(await measure(), await measure());
    const count = median(samples);
    const change = `${((count / baseline.instructionsPerRequest - 1) * 100).toFixed(2)}%`;
    t.diagnostic(`${Math.round(count)} instructions per request (counts ${samples.map(Math.round).join(', ')}); baseline ${baseline.instructionsPerRequest} (${baseline.measured.date}, ${baseline.measured.commit}): ${change}`);
    if (count < baseline.instructionsPerRequest * (1 - TOLERANCE)) {
      t.diagnostic(`cheaper than the baseline by more than ${TOLERANCE * 100}%: measure a new one (UPDATE_BASELINE=1), so that later changes cannot take the gain back unnoticed`);
    }
    const otherHaproxy = haproxy === baseline.measured.haproxy ? '' : ` The baseline was counted with ${baseline.measured.haproxy}, this is ${haproxy}: another HAProxy build changes the count by itself.`;
    assert.ok(
      count <= limit,
      `a plain request now costs ${Math.round(count)} instructions, ${change} over the baseline of ${baseline.instructionsPerRequest} (tolerance ${TOLERANCE * 100}%).${otherHaproxy} ` +
        'If the cost is deliberate, say so in the commit and update the baseline (UPDATE_BASELINE=1, see the top of this file); ' +
        '`npm run bench -- --only instructions` shows what each rule family costs.',
    );
    assert.ok(setup.origin.requests >= REQUESTS[0] + REQUESTS[1], `the origin answered ${setup.origin.requests} requests: the count did not go through Portico's route`);
  } finally {
    await setup.close();
  }
});
