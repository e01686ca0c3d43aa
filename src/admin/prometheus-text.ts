// Pieces of Prometheus' text exposition format for the collectors that write their series themselves (the backend and
// endpoint series, the traffic series): Metrics.addText. One escaper and one family header, so both print alike.

/** A label value as the text format wants it: backslash, double quote and line feed escaped. Kubernetes names need
 * none of this, but nothing is assumed. */
export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

/** A metric family's two comment lines, without a final line feed. */
export function familyHeader(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): string {
  return `# HELP ${name} ${help}\n# TYPE ${name} ${type}`;
}
