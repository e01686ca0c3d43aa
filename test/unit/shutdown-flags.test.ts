// --shutdown-drain-delay: auto follows where Portico runs; explicit values are checked like every other flag.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, helpText, parseFlags } from '../../src/cli/flags.js';

const serve = (...args: string[]) => parseFlags('serve', ['--manifests', 'm', ...args]);

function withPodEnv<T>(host: string | undefined, fn: () => T): T {
  const saved = process.env.KUBERNETES_SERVICE_HOST;
  if (host === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
  else process.env.KUBERNETES_SERVICE_HOST = host;
  try {
    return fn();
  } finally {
    if (saved === undefined) delete process.env.KUBERNETES_SERVICE_HOST;
    else process.env.KUBERNETES_SERVICE_HOST = saved;
  }
}

test('auto: no drain on a machine, 10 s in a pod (KUBERNETES_SERVICE_HOST set), with manifests or the API alike', () => {
  assert.equal(withPodEnv(undefined, () => serve().shutdownDrainDelay), 0);
  assert.equal(withPodEnv(undefined, () => serve('--shutdown-drain-delay', 'auto').shutdownDrainDelay), 0);
  assert.equal(withPodEnv('10.96.0.1', () => serve().shutdownDrainDelay), 10);
  assert.equal(withPodEnv('10.96.0.1', () => parseFlags('serve', []).shutdownDrainDelay), 10);
  assert.equal(withPodEnv('', () => serve().shutdownDrainDelay), 0, 'an empty variable is no cluster');
});

test('explicit seconds win over auto, inside a pod too', () => {
  assert.equal(withPodEnv('10.96.0.1', () => serve('--shutdown-drain-delay', '0').shutdownDrainDelay), 0);
  assert.equal(serve('--shutdown-drain-delay', '25').shutdownDrainDelay, 25);
  assert.equal(serve('--shutdown-drain-delay=3600').shutdownDrainDelay, 3600);
  assert.equal(serve('--shutdown-drain-delay', '0020').shutdownDrainDelay, 20);
});

test('bad values are refused with the flag and the rule', () => {
  for (const bad of ['', '-1', '1.5', '3601', '10s', ' 10', 'Auto', '1e3', '99999'])
    assert.throws(
      () => serve(`--shutdown-drain-delay=${bad}`),
      (e: unknown) => e instanceof FlagError && e.message === `--shutdown-drain-delay: ${JSON.stringify(bad)} must be auto or an integer from 0 to 3600`,
      bad,
    );
});

test('translate has no such flag; serve --help documents it next to the grace period', () => {
  assert.throws(() => parseFlags('translate', ['--manifests', 'm', '--shutdown-drain-delay', '5']), FlagError);
  assert.equal(parseFlags('translate', ['--manifests', 'm']).shutdownDrainDelay, 0);
  const help = helpText('serve');
  assert.match(help, /--shutdown-drain-delay SECONDS\|auto +on SIGTERM\/SIGINT, first answer 503 on \/readyz .*\(default auto\)/);
  assert.ok(help.indexOf('--shutdown-drain-delay') < help.indexOf('--shutdown-grace-period'));
});
