// Pieces of Prometheus' text exposition format for the collectors that write their series themselves (the backend and
// endpoint series, the traffic series): Metrics.addText.

/** A label value as the text format wants it: backslash, double quote and line feed escaped. Kubernetes names need
 * none of this, but nothing is assumed. */
export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}
