// Rule S3/S7: which addresses go into Ingress status, and how they are written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { publishedAddresses } from '../../src/status/status-writer.js';

const svc = (spec: Record<string, unknown>, lb: Record<string, string>[] = []) => ({ spec, status: { loadBalancer: { ingress: lb } } });

test("--publish-service: the load balancer's IPs and host names, sorted, host names first", () => {
  const got = publishedAddresses({ publishService: 'portico/portico', publishAddresses: [] }, svc({ type: 'LoadBalancer', clusterIP: '10.96.0.10' }, [{ ip: '203.0.113.9' }, { hostname: 'lb.example.com' }, { ip: '198.51.100.2' }]));
  assert.deepEqual(got, [{ hostname: 'lb.example.com' }, { ip: '198.51.100.2' }, { ip: '203.0.113.9' }]);
});

test('--publish-service without a load balancer: externalIPs, else the clusterIP, never "None"', () => {
  assert.deepEqual(publishedAddresses({ publishService: 'a/b', publishAddresses: [] }, svc({ clusterIP: '10.96.0.10', externalIPs: ['192.0.2.1'] })), [{ ip: '192.0.2.1' }]);
  assert.deepEqual(publishedAddresses({ publishService: 'a/b', publishAddresses: [] }, svc({ type: 'NodePort', clusterIP: '10.96.0.10' })), [{ ip: '10.96.0.10' }]);
  assert.deepEqual(publishedAddresses({ publishService: 'a/b', publishAddresses: [] }, svc({ clusterIP: 'None' })), []);
  assert.deepEqual(publishedAddresses({ publishService: 'a/b', publishAddresses: [] }, svc({ type: 'ExternalName', externalName: 'ingress.example.com' })), [{ hostname: 'ingress.example.com' }]);
});

test('--publish-status-address: IPs go in ip, names in hostname (S7); used when the published Service has no address', () => {
  assert.deepEqual(publishedAddresses({ publishAddresses: ['ingress.example.com', '2001:db8::1', '192.0.2.7'] }, undefined), [{ hostname: 'ingress.example.com' }, { ip: '192.0.2.7' }, { ip: '2001:db8::1' }]);
  assert.deepEqual(publishedAddresses({ publishService: 'a/missing', publishAddresses: ['192.0.2.7'] }, undefined), [{ ip: '192.0.2.7' }]);
});
