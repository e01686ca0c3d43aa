// `portico check`'s two outputs: the JSON other tools read (its shape is a contract: docs/check.md) and a table a
// person reads in a terminal.
import type { CheckReport, Status } from './check.js';
import { STATUSES } from './check.js';

/** Exactly the documented shape: nothing else, in this order. */
export function checkJson(r: CheckReport): string {
  const shaped = {
    ingresses: r.ingresses.map((i) => ({ namespace: i.namespace, name: i.name, served: i.served, annotations: i.annotations.map((a) => ({ key: a.key, value: a.value, status: a.status, note: a.note })), diagnostics: i.diagnostics })),
    configmap: r.configmap.map((a) => ({ key: a.key, value: a.value, status: a.status, note: a.note })),
    summary: { ingresses: r.summary.ingresses, annotations: r.summary.annotations, byStatus: Object.fromEntries(STATUSES.map((s) => [s, r.summary.byStatus[s]])) },
  };
  return `${JSON.stringify(shaped, null, 2)}\n`;
}

const NOTE_WIDTH = 110;
const VALUE_WIDTH = 28;

/** A value or note on one line of the table: control characters shown as escapes, long text cut with `…`. */
function cell(text: string, width: number): string {
  // eslint-disable-next-line no-control-regex
  const one = text.replace(/[\x00-\x1f\x7f]/g, (c) => (c === '\n' ? '\\n' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  return one.length > width ? `${one.slice(0, width - 1)}…` : one;
}

/** The first sentence of a note: the table is for scanning; --output json has every word. */
function firstSentence(note: string): string {
  const m = /^(.*?\.)(\s|$)/.exec(note);
  return m ? m[1]! : note;
}

export function checkTable(r: CheckReport): string {
  const out: string[] = [];
  for (const i of r.ingresses) {
    out.push(`${i.namespace}/${i.name}  ${i.served ? 'served' : 'NOT SERVED'} (${i.reason})`);
    const keyWidth = Math.min(60, Math.max(10, ...i.annotations.map((a) => a.key.length)));
    for (const a of i.annotations) {
      const value = cell(JSON.stringify(a.value), VALUE_WIDTH);
      out.push(`  ${a.status.padEnd(11)}  ${a.key.padEnd(keyWidth)}  ${value.padEnd(VALUE_WIDTH)}  ${cell(firstSentence(a.note), NOTE_WIDTH)}`.trimEnd());
    }
    // Findings on an annotation are its row's note already.
    for (const d of i.diagnostics.filter((x) => !x.field.startsWith('metadata.annotations['))) out.push(`  ${d.rule.padEnd(11)}  ${cell(`${d.field}: ${d.message}`, keyWidth + VALUE_WIDTH + NOTE_WIDTH + 4)}`);
    out.push('');
  }
  if (r.configmap.length > 0) {
    out.push('ConfigMap');
    for (const a of r.configmap) out.push(`  ${a.status.padEnd(11)}  ${a.key.padEnd(40)}  ${cell(JSON.stringify(a.value), VALUE_WIDTH).padEnd(VALUE_WIDTH)}  ${cell(firstSentence(a.note), NOTE_WIDTH)}`.trimEnd());
    out.push('');
  }
  const counts = STATUSES.filter((s: Status) => r.summary.byStatus[s] > 0).map((s) => `${r.summary.byStatus[s]} ${s}`);
  out.push(`${r.summary.ingresses} Ingress${r.summary.ingresses === 1 ? '' : 'es'}, ${r.summary.annotations} annotation${r.summary.annotations === 1 ? '' : 's'}${counts.length > 0 ? `: ${counts.join(', ')}` : ''}`);
  return `${out.join('\n')}\n`;
}
