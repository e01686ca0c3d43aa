// Portico's counters, read from its admin port, to tell a reload from a runtime-API update.
import { httpGet } from './probes.js';

export interface ApplyCounters {
  reloads: number;
  runtimeUpdates: number;
}

export async function applyCounters(adminPort: number): Promise<ApplyCounters> {
  const { status, body } = await httpGet(adminPort, '127.0.0.1', '/metrics');
  if (status !== 200) throw new Error(`/metrics answered ${status}`);
  return { reloads: counter(body, 'portico_haproxy_reloads_total'), runtimeUpdates: counter(body, 'portico_runtime_updates_total') };
}

function counter(text: string, name: string): number {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}
