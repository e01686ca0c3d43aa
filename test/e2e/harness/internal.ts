// Helpers shared by the harness modules; not re-exported.
import type { RawData } from 'ws';

/** ws hands messages over as a Buffer, a Buffer[] (fragments) or an ArrayBuffer depending on binaryType. */
export function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}
