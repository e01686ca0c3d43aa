// Generates the default certificate on a worker thread: loading the X.509 library (about 100 ms) and signing would
// otherwise hold up reading the manifests on the main thread at start-up, and the main thread never loads the
// library at all.
import { Worker, isMainThread, parentPort } from 'node:worker_threads';

if (!isMainThread) {
  const { generateDefaultCertificate } = await import('./default-cert.js');
  parentPort?.postMessage(await generateDefaultCertificate());
}

/** generateDefaultCertificate (default-cert.ts) on another core. */
export function generateDefaultCertificateOffThread(): Promise<string> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url));
    worker.once('message', (pem: string) => {
      resolve(pem);
      void worker.terminate();
    });
    worker.once('error', reject);
  });
}
