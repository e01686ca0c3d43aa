// The master CLI's `show proc` (HAProxy 2.6's layout, as the master prints it during a reload) and the throttle that
// reports the access log's lost lines.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseShowProc } from '../../src/haproxy/process/master-cli.js';
import { throttledCount } from '../../src/log.js';

const DURING_RELOAD = `#<PID>          <type>          <reloads>       <uptime>        <version>
6319            master          3 [failed: 1]   0d00h00m26s     2.6.12-1+deb12u4
# workers
6399            worker          0               0d00h00m01s     2.6.12-1+deb12u4
# old workers
6367            worker          1               0d00h00m16s     2.6.12-1+deb12u4
6337            worker          2               0d00h00m20s     2.6.12-1+deb12u4
# programs

`;

describe('parseShowProc', () => {
  test('the current worker first; the workers a reload replaced are old', () => {
    assert.deepEqual(parseShowProc(DURING_RELOAD), {
      masterReloads: 3,
      failedReloads: 1,
      workers: [
        { pid: 6399, reloads: 0, old: false },
        { pid: 6367, reloads: 1, old: true },
        { pid: 6337, reloads: 2, old: true },
      ],
    });
  });
});

describe('throttledCount', () => {
  test('the first count at once, the rest summed into one report per period', async () => {
    const reports: number[] = [];
    const t = throttledCount(50, (n) => reports.push(n));
    t.add(1);
    t.add(2510);
    t.add(1);
    assert.deepEqual(reports, [1]);
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(reports, [1, 2511]);
    await new Promise((r) => setTimeout(r, 80));
    t.add(3);
    assert.deepEqual(reports, [1, 2511, 3], 'after a quiet period, at once again');
  });
});
