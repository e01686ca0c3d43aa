// Runs generateDefaultCertificate on a worker thread: loading the X.509 library and signing take about 200 ms of
// CPU, which at start-up would otherwise delay reading the manifests on the main thread.
import { parentPort } from 'node:worker_threads';
import { generateDefaultCertificate } from './default-cert.js';

parentPort?.postMessage(await generateDefaultCertificate());
