import type { Diagnostic } from '../model/types.js';

/** Collects diagnostics for one object, so every finding names the object it is about. */
export class Findings {
  readonly list: Diagnostic[] = [];
  private invalid = false;
  constructor(readonly object: string) {}

  /** An error the API server would refuse the whole object for: the object is left out. */
  error(field: string, rule: string, message: string): void {
    this.invalid = true;
    this.list.push({ level: 'error', object: this.object, field, rule, message });
  }

  /** An error in one part (a path, say) that is left out while the rest of the object is used. */
  errorInPart(field: string, rule: string, message: string): void {
    this.list.push({ level: 'error', object: this.object, field, rule, message });
  }

  warn(field: string, rule: string, message: string): void {
    this.list.push({ level: 'warning', object: this.object, field, rule, message });
  }

  /** Whether the object as a whole is invalid (errors in parts do not count). */
  get hasErrors(): boolean {
    return this.invalid;
  }
}

/** Names that failed validation are quoted, so a newline in a name cannot forge a log line. */
function safeName(s: string): string {
  return /^[a-z0-9.-]+$/.test(s) ? s : JSON.stringify(s.slice(0, 300));
}

export function objectRef(kind: string, meta: { namespace?: string | undefined; name?: string | undefined } | undefined): string {
  const name = safeName(meta?.name ?? '');
  return meta?.namespace ? `${kind} ${safeName(meta.namespace)}/${name}` : `${kind} ${name}`;
}

/** Stable order for output: by object, then field, then rule. */
export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return [...list].sort(
    (a, b) => cmp(a.object, b.object) || cmp(a.field, b.field) || cmp(a.rule, b.rule) || cmp(a.message, b.message),
  );
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
