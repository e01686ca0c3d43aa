// The Event reason kubectl shows for each family of rules, including Portico's named ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reasonFor } from '../../src/status/events.js';

test('Portico rule names map to the reason of their family', () => {
  assert.equal(reasonFor('tls-security-level'), 'TLSCertificate');
  assert.equal(reasonFor('tls-expired'), 'TLSCertificate');
  assert.equal(reasonFor('T5'), 'TLSCertificate');
  assert.equal(reasonFor('path-encoding'), 'InvalidIngress');
  assert.equal(reasonFor('service-port'), 'InvalidService');
  assert.equal(reasonFor('B8'), 'BackendUnavailable');
});
