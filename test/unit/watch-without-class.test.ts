// --watch-ingress-without-class (rule C5): parsed as ingress-nginx's flag of that name is written, and `check`
// decides "served" with it exactly as serve does, since both pass it to the same translate options. Rule C4's reason
// for an annotation the flag never applies to, the empty one included.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, helpText, parseFlags } from '../../src/cli/flags.js';
import { check } from '../../src/check/check.js';
import { emptySnapshot } from '../../src/k8s/kinds.js';
import { translate } from '../../src/translate/translate.js';
import type { TranslateOptions } from '../../src/translate/translate.js';

void describe('the flag', () => {
  const flag = (command: 'serve' | 'translate' | 'check', ...args: string[]): boolean => parseFlags(command, ['--manifests', 'm', ...args]).watchIngressWithoutClass;

  test('off by default, as in ingress-nginx; true and false as values; bare means true, as Go flags allow', () => {
    for (const command of ['serve', 'translate', 'check'] as const) {
      assert.equal(flag(command), false);
      assert.equal(flag(command, '--watch-ingress-without-class'), true);
      assert.equal(flag(command, '--watch-ingress-without-class=true'), true);
      assert.equal(flag(command, '--watch-ingress-without-class=false'), false);
      assert.match(helpText(command), /--watch-ingress-without-class BOOL/);
    }
  });

  test('anything else is a usage error, never a silent default', () => {
    assert.throws(() => flag('serve', '--watch-ingress-without-class=yes'), FlagError);
    // Go reads `--flag false` as true followed by an argument; here the stray argument is refused.
    assert.throws(() => flag('serve', '--watch-ingress-without-class', 'false'), FlagError);
  });
});

void describe('check decides served with the flag as serve does', () => {
  const classes = [
    { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'nginx', annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } }, spec: { controller: 'k8s.io/ingress-nginx' } },
    { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'portico' }, spec: { controller: 'portico.dev/ingress-controller' } },
  ];
  const ingress = (name: string, className?: string, annotation?: string): Record<string, unknown> => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: 'shop', ...(annotation !== undefined ? { annotations: { 'kubernetes.io/ingress.class': annotation } } : {}) },
    spec: { ...(className ? { ingressClassName: className } : {}), defaultBackend: { service: { name: 'web', port: { number: 80 } } } },
  });
  const snapshot = { ...emptySnapshot(), ingressClasses: classes, ingresses: [ingress('bare'), ingress('legacy-nginx', undefined, 'nginx'), ingress('named-nginx', 'nginx'), ingress('named-portico', 'portico')] };
  // As from the API: the cluster's IngressClasses decide, none stands in.
  const options = (watch: boolean): TranslateOptions => ({ controllerName: 'portico.dev/ingress-controller', ingressClass: 'portico', watchIngressWithoutClass: watch, implicitIngressClass: false, checkCreateOnlyRules: false, sslRedirect: true });
  const served = (watch: boolean): Record<string, boolean> => Object.fromEntries(check(snapshot, options(watch)).ingresses.map((i) => [i.name, i.served]));
  const owned = (watch: boolean): Record<string, boolean> => Object.fromEntries(translate(snapshot, options(watch)).model.ingresses.map((i): [string, boolean] => [i.ingress.slice('shop/'.length), i.owned]));

  test('without it, only the Ingress naming portico; with it, the class-less one too, and never one that names another class', () => {
    assert.deepEqual(served(false), { bare: false, 'legacy-nginx': false, 'named-nginx': false, 'named-portico': true });
    assert.deepEqual(served(true), { bare: true, 'legacy-nginx': false, 'named-nginx': false, 'named-portico': true });
    for (const watch of [false, true]) assert.deepEqual(served(watch), owned(watch));
  });

  test('the reason names the flag either way', () => {
    const reason = (watch: boolean): string => check(snapshot, options(watch)).ingresses.find((i) => i.name === 'bare')!.reason;
    assert.match(reason(false), /--watch-ingress-without-class is off \(C5\)/);
    assert.match(reason(true), /--watch-ingress-without-class is on \(C5\)/);
  });
});

void describe("rule C4's reason quotes the annotation's value", () => {
  const ingress = (name: string, annotation: string): Record<string, unknown> => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: 'shop', annotations: { 'kubernetes.io/ingress.class': annotation } },
    spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } },
  });
  const snapshot = { ...emptySnapshot(), ingresses: [ingress('empty', ''), ingress('ours', 'portico'), ingress('forged', 'nginx (C4)\nshop/x: owned')] };
  const reasons = (watch: boolean): Record<string, string> =>
    Object.fromEntries(
      translate(snapshot, { controllerName: 'portico.dev/ingress-controller', ingressClass: 'portico', watchIngressWithoutClass: watch, implicitIngressClass: false, checkCreateOnlyRules: false, sslRedirect: true }).model.ingresses.map((i): [string, string] => [
        i.ingress.slice('shop/'.length),
        i.classReason,
      ]),
    );

  test('the empty value reads "" (a named class, not ours, whatever the flag); one with a line break cannot pass for a reason of its own', () => {
    for (const watch of [false, true])
      assert.deepEqual(reasons(watch), {
        empty: 'annotation kubernetes.io/ingress.class "" is not ours (C4)',
        ours: 'annotation kubernetes.io/ingress.class "portico" (C4)',
        forged: 'annotation kubernetes.io/ingress.class "nginx (C4)\\nshop/x: owned" is not ours (C4)',
      });
  });
});
