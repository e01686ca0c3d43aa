// portico check's classification (src/check/check.ts) for the cases the corpus test does not single out: a key
// overridden by its portico.dev/ twin, an empty value, a value that is not a string, a snippet whose every directive
// is translated but whose effect is partial, keys outside both prefixes; and the exit decision.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { annotationReports, check, losesSomething } from '../../src/check/check.js';
import { emptySnapshot } from '../../src/k8s/kinds.js';

const N = 'nginx.ingress.kubernetes.io/';
const P = 'portico.dev/';
const statusOf = (annotations: Record<string, string>): Record<string, string> => Object.fromEntries(annotationReports(annotations, 'default/x').map((r) => [r.key, r.status]));

void describe('classification', () => {
  test('the nginx key is ignored when the portico.dev/ twin is set; an empty value is ignored; other prefixes are not rows', () => {
    assert.deepEqual(statusOf({ [`${N}ssl-redirect`]: 'false', [`${P}ssl-redirect`]: 'true', [`${N}proxy-body-size`]: '', 'app.kubernetes.io/name': 'x' }), {
      [`${N}proxy-body-size`]: 'ignored',
      [`${N}ssl-redirect`]: 'ignored',
      [`${P}ssl-redirect`]: 'supported',
    });
  });

  test("a server-snippet with proxy_set_header: read whole, its effect partial (nginx's locations never inherit it)", () => {
    const [row] = annotationReports({ [`${N}server-snippet`]: 'proxy_set_header X-A b;\nmore_set_headers "X-B: c";\n' }, 'default/x');
    assert.equal(row!.status, 'partial');
    assert.match(row!.note, /line 1 proxy_set_header: translated; line 2 more_set_headers: translated/);
  });

  test('an invalid value, an ingress-nginx name not honoured, a typo', () => {
    const rows = annotationReports({ [`${N}limit-rps`]: 'ten', [`${N}enable-modsecurity`]: 'true', [`${N}client-max-body-size`]: '1m' }, 'default/x');
    assert.deepEqual(rows.map((r) => [r.key, r.status]), [[`${N}client-max-body-size`, 'unknown'], [`${N}enable-modsecurity`, 'unsupported'], [`${N}limit-rps`, 'invalid']]);
    assert.match(rows[0]!.note, /proxy-body-size/);
    assert.match(rows[2]!.note, /"ten"/);
  });
});

void describe('the report', () => {
  const ingress = (annotations: Record<string, unknown>, className?: string): Record<string, unknown> => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'web', namespace: 'shop', annotations },
    spec: { ...(className ? { ingressClassName: className } : {}), defaultBackend: { service: { name: 'web', port: { number: 80 } } } },
  });
  const opts = { controllerName: 'portico.dev/ingress-controller', ingressClass: 'portico', implicitIngressClass: true, checkCreateOnlyRules: true, sslRedirect: true };

  test('a value that is not a string is invalid; the summary counts every status', () => {
    const r = check({ ...emptySnapshot(), ingresses: [ingress({ [`${N}ssl-redirect`]: false, [`${N}proxy-body-size`]: '8m' })] }, opts);
    assert.deepEqual(r.ingresses[0]!.annotations.map((a) => [a.key, a.value, a.status]), [[`${N}proxy-body-size`, '8m', 'partial'], [`${N}ssl-redirect`, 'false', 'invalid']]);
    assert.deepEqual(r.summary, { ingresses: 1, annotations: 2, byStatus: { supported: 0, partial: 1, ignored: 0, unsupported: 0, unknown: 0, invalid: 1 } });
    assert.equal(losesSomething(r), true);
  });

  test("another class's Ingress is not served; honoured annotations alone lose nothing", () => {
    const r = check({ ...emptySnapshot(), ingresses: [ingress({ [`${N}proxy-body-size`]: '8m' }, 'nginx')] }, opts);
    assert.equal(r.ingresses[0]!.served, false);
    assert.match(r.ingresses[0]!.reason, /nginx/);
    assert.equal(losesSomething(r), false);
  });
});
