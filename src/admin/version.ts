// Portico's version, from its package.json (two directories above the compiled dist/src/admin/ and the sources).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function porticoVersion(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const v = (JSON.parse(readFileSync(fileURLToPath(new URL(rel, import.meta.url)), 'utf8')) as { name?: unknown; version?: unknown });
      if (v.name === 'portico' && typeof v.version === 'string') return v.version;
    } catch {
      // not this directory: try the next
    }
  }
  return '';
}
