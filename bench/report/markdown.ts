// The human-readable report: the same text goes to stdout, results/<timestamp>.md and, after a full run,
// results/latest.md.
import { median } from '../lib/stats.js';
import type { ConvergenceRow, CpuAbResult, DataPlaneRow, InstructionsResult, Results, ScaleRow, Target } from './types.js';

const f = (n: number | undefined, digits = 0): string => (n === undefined || Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));
const verdict = (t: Target | undefined): string => (t ? `${t.pass ? 'PASS' : '**MISSED**'} (${t.want})` : '');

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function protocolLabel(r: DataPlaneRow): string {
  return r.protocol === 'h2' ? `h2 (TLS), ${r.streams} streams/conn` : r.protocol === 'https' ? 'HTTPS (h1)' : 'HTTP';
}

function dataPlane(rows: DataPlaneRow[]): string {
  const scales = [...new Set(rows.map((r) => r.scale))];
  return scales
    .map((scale) => {
      const body = rows
        .filter((r) => r.scale === scale)
        .sort((a, b) => a.protocol.localeCompare(b.protocol) || a.connections - b.connections)
        .map((r) => [
          protocolLabel(r),
          f(r.connections),
          r.peer,
          f(r.rps),
          f(r.p50Ms, 2),
          f(r.p99Ms, 2),
          f(r.cpuUsPerRequest, 1),
          r.controlCpuUsPerRequest > 0 ? f(r.controlCpuUsPerRequest, 2) : '',
          r.ratio === undefined ? '' : `${f(r.ratio, 2)}×`,
          r.cpuRatio === undefined ? '' : `${f(r.cpuRatio, 2)}×`,
          `${f(r.proxyCoreBusy * 100)}%`,
          r.errors ? `**${f(r.errors)}**` : '0',
          `${f(r.otherLoadOnProxyCore * 100)}%`,
          verdict(r.target),
        ]);
      const head = ['protocol', 'conns', 'peer', 'req/s', 'p50 ms', 'p99 ms', 'proxy CPU µs/req', 'control-plane CPU µs/req', 'req/s vs HAProxy', 'CPU/req vs HAProxy', 'proxy core busy', 'errors', 'other load on proxy core', 'target'];
      return `### ${f(scale)} Ingress${scale === 1 ? '' : 'es'} (${scale === 1 ? 'one host' : `${f(scale)} hosts, load over a hot set of 100`})\n\n${table(head, body)}`;
    })
    .join('\n\n');
}

const CHANGE_ORDER: ConvergenceRow['change'][] = ['endpoint', 'new-ingress', 'certificate', 'annotation'];
const sourceLabel = (r: ConvergenceRow): string => (r.source === 'api' ? 'Kubernetes API' : 'manifest file');

function convergence(rows: ConvergenceRow[]): string {
  const head = ['Ingresses', 'change', 'made through', 'samples', 'p50 ms', 'p99 ms', 'max ms', 'with reload', 'via runtime API', 'timeouts', 'target'];
  // The file row and the API row of the same change side by side.
  const sorted = [...rows].sort((a, b) => a.ingresses - b.ingresses || CHANGE_ORDER.indexOf(a.change) - CHANGE_ORDER.indexOf(b.change) || (a.source === b.source ? 0 : a.source === 'file' ? -1 : 1));
  return table(
    head,
    sorted.map((r) => [f(r.ingresses), r.change, sourceLabel(r), f(r.samples), f(r.p50Ms, 1), f(r.p99Ms, 1), f(r.maxMs, 1), `${r.reloads}/${r.samples}`, `${r.runtimeUpdates}/${r.samples}`, r.timeouts ? `**${r.timeouts}**` : '0', verdict(r.target)]),
  );
}

function scale(rows: ScaleRow[]): string {
  const head = ['Ingresses', 'annotations', 'endpoints', 'start → ready, ms (each run)', 'Portico RSS MB (settled / peak)', 'HAProxy RSS MB (all processes)', 'ready target', 'RSS target'];
  return table(
    head,
    rows.map((r) => [f(r.ingresses), r.annotations ?? 'none', f(r.endpoints), r.readyMs.map((m) => f(m)).join(', '), `${f(r.porticoRssMb)} / ${f(r.porticoPeakRssMb)}`, f(r.haproxyRssMb), verdict(r.targets.ready), verdict(r.targets.rss)]),
  );
}

function instructions(r: InstructionsResult): string {
  const head = ['HAProxy configuration (1 Ingress, HTTP)', 'instructions / request', 'vs minimal', 'implied req/s vs minimal on a full core'];
  const body = r.rows.map((x) => [x.config, f(x.perRequest), `${f(x.ratio, 2)}×`, `${f(x.impliedThroughputRatio, 2)}×`]);
  const required = r.rows.find((x) => x.config === 'haproxy + X9 required headers');
  const verdictLine =
    required?.impliedThroughputRatio === undefined
      ? ''
      : required.impliedThroughputRatio < r.target
        ? `\n\nThe headers rule X9 requires, added by hand in their cheapest form and with no path routing at all, already bring the minimal configuration to ${f(required.impliedThroughputRatio, 2)}×: below the ${r.target}× target, so by this estimate no configuration that sends them meets it on this machine.`
        : `\n\nThe headers rule X9 requires leave the minimal configuration at ${f(required.impliedThroughputRatio, 2)}×, within the ${r.target}× target.`;
  return `User-space instructions HAProxy executes per request (valgrind callgrind; a long run minus a short one, so start-up is left out). Unlike CPU time, the count barely moves with the machine's load; the implied ratio assumes the kernel's part of the CPU time (${f((1 - r.userShare) * 100)}% for the minimal configuration under wrk -c64 in this run) is the same for all.\n\n${table(head, body)}${verdictLine}${ruleCosts(r)}${featureCosts(r)}`;
}

function featureCosts(r: InstructionsResult): string {
  const base = r.featureCosts?.find((x) => x.family === 'none');
  if (!r.featureCosts || !base) return '';
  const head = ['annotation family (the second of two Ingresses uses it)', 'a request on the plain first route', 'what the family\'s rules cost it', 'a request on the route that uses it', 'vs the same route without the annotations'];
  const body = r.featureCosts
    .filter((x) => x !== base)
    .map((x) => [`${x.family}: \`${Object.entries(x.annotations).map(([k, v]) => `${k}: ${v}`).join(', ')}\``, f(x.plainBeside), f(x.plainBeside - base.plainBeside), f(x.using), f(x.using - base.using)]);
  return `\n\n### What each annotation family costs (plain HTTP GET, one kept-alive connection; two Ingresses, neither annotated: ${f(base.plainBeside)} and ${f(base.using)})\n\n${table(head, body)}`;
}

function ruleCosts(r: InstructionsResult): string {
  if (!r.ruleCosts || !r.edgeBudget) return '';
  const b = r.edgeBudget;
  const head = ['rule family (taken out of Portico\'s configuration)', 'instructions / request without it', 'its cost per request', 'share of the count without the edge rules'];
  const body = r.ruleCosts.map((x) => [
    x.connectionPerRequest ? `${x.label} (a new connection for every request: Portico's count ${f(x.full)})` : x.family === 'edge' ? `**${x.label}**` : x.label,
    f(x.without),
    f(x.cost),
    x.connectionPerRequest ? '' : `${f((x.cost / b.withoutEdge) * 100, 1)}%`,
  ]);
  return `\n\n### What each family of Portico's per-request rules costs (plain HTTP GET, one kept-alive connection)\n\n${table(head, body)}\n\n${b.pass ? 'PASS' : '**MISSED**'}: the edge rules together add ${f(b.added * 100, 1)}% to a plain request (${f(b.withoutEdge)} → ${f(b.full)}; budget ${f(b.budget * 100)}%).`;
}

function cpuAb(r: CpuAbResult): string {
  const parts: string[] = [];
  for (const protocol of ['http', 'https'] as const) {
    const head = ['peer', 'proxy CPU µs/req, median (min–max over rounds)', 'control plane CPU µs/req, median', 'req/s, median', 'Portico ÷ peer, median (min–max)', 'each round', 'most other load on proxy core'];
    const body = r.peers.map((peer) => {
      const cells = r.cells.filter((c) => c.protocol === protocol && c.peer === peer && c.errors === 0);
      const cpu = cells.map((c) => c.cpuUsPerRequest);
      const ratio = r.ratios.find((x) => x.protocol === protocol && x.versus === peer);
      return [
        peer,
        `${f(median(cpu), 2)} (${f(Math.min(...cpu), 2)}–${f(Math.max(...cpu), 2)})`,
        cells.every((c) => c.controlCpuUsPerRequest !== undefined) ? f(median(cells.map((c) => c.controlCpuUsPerRequest!)), 2) : '',
        f(median(cells.map((c) => c.rps))),
        ratio ? `**${f(ratio.median, 3)}×** (${f(ratio.min, 3)}–${f(ratio.max, 3)})` : '',
        ratio ? ratio.perRound.map((x) => f(x, 2)).join(', ') : '',
        `${f(Math.max(...r.cells.filter((c) => c.protocol === protocol && c.peer === peer).map((c) => c.otherLoadOnProxyCore)) * 100)}%`,
      ];
    });
    const errors = r.cells.filter((c) => c.protocol === protocol && c.errors > 0);
    const note = errors.length > 0 ? `\n\nTurns with errors, left out: ${errors.map((c) => `round ${c.round + 1} ${c.peer} (${c.errors})`).join(', ')}.` : '';
    parts.push(`### ${protocol === 'http' ? 'HTTP' : 'HTTPS (h1)'}, ${r.connections} kept-alive connections\n\n${table(head, body)}${note}`);
  }
  return `${r.rounds} rounds; in each, every peer in turn (a different one first each round) gets ${r.warmupS} s of warm-up and ${r.durationS} s of wrk; CPU is utime + stime of the proxy's processes from /proc (Portico: its HAProxy only; the ratios compare these). The control plane's column is Portico's own Node process over the same seconds: it reads, parses and writes every access log line (Portico's log is its work, where nginx's peer writes its line itself, to a file). A ratio below 1 means Portico uses less CPU per request than the peer.\n\n${parts.join('\n\n')}`;
}

function summary(r: Results): string {
  const all: [string, Target][] = [];
  for (const d of r.dataPlane) if (d.target) all.push([`data plane, ${f(d.scale)} Ingress(es), ${protocolLabel(d)}, ${d.connections} conns: ${f(d.ratio, 2)}×`, d.target]);
  for (const c of r.convergence) if (c.target) all.push([`convergence, ${c.change} (${sourceLabel(c)}) at ${f(c.ingresses)} Ingresses: p99 ${f(c.p99Ms, 1)} ms`, c.target]);
  for (const s of r.scale) {
    const mix = s.annotations ? ' (annotated)' : '';
    all.push([`scale${mix}, start to ready: ${s.readyMs.map((m) => f(m)).join(', ')} ms`, s.targets.ready]);
    all.push([`scale${mix}, Portico RSS: peak ${f(s.porticoPeakRssMb)} MB`, s.targets.rss]);
  }
  const b = r.instructions?.edgeBudget;
  if (b) all.push([`instructions, Portico's edge rules on a plain request: +${f(b.added * 100, 1)}% (${f(b.withoutEdge)} → ${f(b.full)})`, { want: `<= +${f(b.budget * 100)}%`, pass: b.pass }]);
  const missed = all.filter(([, t]) => !t.pass);
  const lines = all.map(([what, t]) => `- ${t.pass ? 'PASS' : '**MISSED**'} ${what} (target ${t.want})`);
  return `**${all.length - missed.length} of ${all.length} targets met.**\n\n${lines.join('\n')}`;
}

export function renderMarkdown(r: Results): string {
  const m = r.machine;
  const peers = Object.entries(r.peers)
    .map(([k, v]) => `${k}: ${Object.entries(v).map(([a, b]) => `${a}=${b}`).join(', ')}`)
    .join('; ');
  const parts = [
    `# Portico benchmark, ${r.startedAt} (${r.mode} mode)`,
    `Machine: ${m.cpus} CPUs, Linux ${m.kernel}, Node ${m.node}, ${m.haproxy}, ${m.nginx}; commit ${m.commit}. Method: bench/README.md.`,
    `## Targets\n\n${summary(r)}`,
  ];
  if (r.dataPlane.length > 0) parts.push(`## Data plane\n\nProxy pinned to CPU 0; wrk/h2load and the origin nginx on CPU 1. Peers: ${peers}.\n\n${dataPlane(r.dataPlane)}`);
  if (r.convergence.length > 0) parts.push(`## Convergence (a change, as a manifest file or through the Kubernetes API → first request served by the new configuration)\n\n${convergence(r.convergence)}`);
  if (r.cpuAb) parts.push(`## CPU per request, interleaved rounds (peers doing the same work as Portico)\n\n${cpuAb(r.cpuAb)}`);
  if (r.instructions) parts.push(`## Where the data plane's CPU goes\n\n${instructions(r.instructions)}`);
  if (r.scale.length > 0) parts.push(`## Scale\n\n${scale(r.scale)}`);
  if (r.notes.length > 0) parts.push(`## Notes\n\n${r.notes.map((n) => `- ${n}`).join('\n')}`);
  return `${parts.join('\n\n')}\n`;
}
