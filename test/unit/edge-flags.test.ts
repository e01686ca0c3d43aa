// The edge flags (sizes, TLS settings, per-client limits) and the platform probes behind --threads.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, byteSize, parseFlags } from '../../src/cli/flags.js';
import { cgroupCpuLimit } from '../../src/cli/platform.js';
import { hstsValue } from '../../src/haproxy/render/edge.js';

const serve = (...args: string[]) => parseFlags('serve', ['--manifests', 'm', ...args]);

describe('edge flags', () => {
  test('sizes take nginx syntax', () => {
    assert.deepEqual(['0', '512', '10k', '10K', '1m', '2g'].map((s) => byteSize('x', s)), [0, 512, 10240, 10240, 1 << 20, 2 * 1024 ** 3]);
    for (const bad of ['', '1mb', '-1', '1.5m', ' 1m', '1m ', '1e6', '0x10']) assert.throws(() => byteSize('x', bad), FlagError, bad);
  });

  test('defaults: 1m bodies, a quarter of the connections per client, TLS 1.2-1.3, HSTS with includeSubDomains', () => {
    const e = serve().edge;
    assert.equal(e.proxyBodySize, 1 << 20);
    assert.equal(e.maxConnectionsPerClient, 1024);
    assert.deepEqual(e.tlsVersions, { min: 'TLSv1.2', max: 'TLSv1.3' });
    assert.equal(hstsValue(e.hsts), 'max-age=31536000; includeSubDomains');
    assert.equal(serve('--max-connections', '100').edge.maxConnectionsPerClient, 25);
    assert.equal(serve('--max-connections-per-client', '0').edge.maxConnectionsPerClient, 0);
  });

  test('bad values are refused with the flag named', () => {
    const bad: [string[], RegExp][] = [
      [['--ssl-protocols', 'TLSv1.1'], /--ssl-protocols/],
      [['--ssl-protocols', ''], /--ssl-protocols/],
      [['--ssl-ciphers', 'NO-SUCH-CIPHER'], /--ssl-ciphers: OpenSSL refuses/],
      [['--ssl-ciphers', 'HIGH "quoted"'], /--ssl-ciphers/],
      [['--ssl-ciphers', 'HIGH\nbind :1'], /--ssl-ciphers/],
      [['--max-connections', '100', '--max-connections-per-client', '101'], /--max-connections-per-client/],
      [['--proxy-body-size', '1 m'], /--proxy-body-size/],
      [['--ipv6', 'maybe'], /--ipv6/],
      [['--hsts-max-age', '-1'], /--hsts-max-age/],
    ];
    for (const [args, msg] of bad) assert.throws(() => serve(...args), (e: unknown) => e instanceof FlagError && msg.test(e.message), args.join(' '));
  });

  test('TLS versions form a range from the lowest to the highest named', () => {
    assert.deepEqual(serve('--ssl-protocols', 'TLSv1.3').edge.tlsVersions, { min: 'TLSv1.3', max: 'TLSv1.3' });
    assert.deepEqual(serve('--ssl-protocols', 'TLSv1.3,TLSv1.2').edge.tlsVersions, { min: 'TLSv1.2', max: 'TLSv1.3' });
  });
});

describe('CPU limit from the cgroup', () => {
  const fs = (files: Record<string, string>) => (p: string) => files[p];

  test('cgroup v2: the quota of the process cgroup or of an ancestor, whichever is smaller', () => {
    assert.equal(cgroupCpuLimit(fs({ '/proc/self/cgroup': '0::/kubepods/pod1/c1\n', '/sys/fs/cgroup/kubepods/pod1/c1/cpu.max': '150000 100000\n' })), 1.5);
    assert.equal(
      cgroupCpuLimit(fs({ '/proc/self/cgroup': '0::/a/b\n', '/sys/fs/cgroup/a/b/cpu.max': 'max 100000', '/sys/fs/cgroup/a/cpu.max': '200000 100000' })),
      2,
    );
    assert.equal(cgroupCpuLimit(fs({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': 'max 100000\n' })), undefined);
  });

  test('cgroup v1: cfs quota over period; -1 means none', () => {
    assert.equal(
      cgroupCpuLimit(fs({ '/proc/self/cgroup': '4:cpu,cpuacct:/\n3:memory:/\n', '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '50000\n', '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n' })),
      0.5,
    );
    assert.equal(cgroupCpuLimit(fs({ '/proc/self/cgroup': '4:cpu,cpuacct:/\n', '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '-1\n', '/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n' })), undefined);
  });

  test('no cgroup information: no limit', () => {
    assert.equal(cgroupCpuLimit(fs({})), undefined);
  });
});
