// A one-pod app: a Service (port 80 -> 3000) whose single echo pod is named after it, so a response says which
// route matched. Most routing tests are built from these.
import { startEcho } from './echo.js';
import type { Echo } from './echo.js';
import { docs, endpointSlice, service } from './manifests.js';
import { closeClients } from './client.js';
import { stopAll } from './portico.js';

export async function singlePodApp(pods: Echo[], name: string, ip: string): Promise<string> {
  pods.push(await startEcho({ pod: name, ip, port: 3000 }));
  return docs(
    service({ name, ports: [{ port: 80, targetPort: 3000 }] }),
    endpointSlice({ name: `${name}-1`, service: name, ports: [{ port: 3000 }], endpoints: [{ ip }] }),
  );
}

/**
 * The `after` hook of a test file: the client WebSockets a failed test left open, every Portico (and its HAProxy),
 * then every echo pod, even when a Portico did not stop cleanly: a pod left listening would keep the test file
 * running until the runner's timeout, long after the failure was known.
 */
export async function stopEverything(pods: Echo[]): Promise<void> {
  closeClients();
  try {
    await stopAll();
  } finally {
    await Promise.all(pods.map((p) => p.close()));
  }
}
