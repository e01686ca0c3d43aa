// A one-pod app: a Service (port 80 -> 3000) whose single echo pod is named after it, so a response says which
// route matched. Most routing tests are built from these.
import { startEcho } from './echo.js';
import type { Echo } from './echo.js';
import { docs, endpointSlice, ingress, service } from './manifests.js';
import { closeClients } from './client.js';
import { manifestDir, stopAll, writeManifest } from './portico.js';

export async function singlePodApp(pods: Echo[], name: string, ip: string): Promise<string> {
  pods.push(await startEcho({ pod: name, ip, port: 3000 }));
  return docs(
    service({ name, ports: [{ port: 80, targetPort: 3000 }] }),
    endpointSlice({ name: `${name}-1`, service: name, ports: [{ port: 3000 }], endpoints: [{ ip }] }),
  );
}

/**
 * A fresh manifest directory serving `<name>.test` from a new one-pod app named `name`, whose pod (`<podPrefix>-N`)
 * gets the next address of `subnet` (`127.x.y`): for tests that start several Porticos, each on a fresh app.
 */
export async function oneAppDir(pods: Echo[], o: { name: string; podPrefix: string; subnet: string }): Promise<string> {
  const dir = await manifestDir();
  const ip = `${o.subnet}.${pods.length + 1}`;
  pods.push(await startEcho({ pod: `${o.podPrefix}-${pods.length}`, ip, port: 3000 }));
  await writeManifest(
    dir,
    'app.yaml',
    docs(
      service({ name: o.name, ports: [{ port: 80, targetPort: 3000 }] }),
      endpointSlice({ name: `${o.name}-1`, service: o.name, ports: [{ port: 3000 }], endpoints: [{ ip }] }),
      ingress({ name: o.name, rules: [{ host: `${o.name}.test`, paths: [{ path: '/', pathType: 'Prefix', service: o.name, port: 80 }] }] }),
    ),
  );
  return dir;
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
