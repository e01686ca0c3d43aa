// explain's answer for a person (text) or a tool (JSON, the Explanation as it is).
import type { Explanation } from './explain.js';

export function explainJson(e: Explanation): string {
  return `${JSON.stringify(e, null, 2)}\n`;
}

export function explainText(e: Explanation): string {
  const lines: string[] = [];
  const r = e.request;
  lines.push(`${r.method} ${r.scheme}://${r.host}${r.path}${r.query !== undefined ? `?${r.query}` : ''}`);
  lines.push(`=> ${verdict(e)}`);
  lines.push('', 'Routing:');
  for (const s of e.steps) lines.push(`  [${s.rule}] ${s.text}`);
  if (e.route) lines.push(`  route: Ingress ${e.route.ingress}${e.route.rule !== undefined ? ` rule ${e.route.rule} path ${e.route.path}` : ' (default backend)'}${e.route.ingressPath !== undefined ? ` (${e.route.pathType} ${e.route.ingressPath})` : ''}`);
  if (e.policies.length > 0) {
    lines.push('', 'Policies, in the order HAProxy applies them:');
    for (const p of e.policies) lines.push(`  ${p.phase.padEnd(14)} ${p.policy}: ${p.text}`);
  }
  if (e.backend) {
    const b = e.backend;
    lines.push('', `Backend: Service ${b.service} port ${b.port} (${b.name})${b.usable ? '' : ` — NOT USABLE: ${b.unavailable ?? ''}`}`);
    if (b.externalName) lines.push(`  ExternalName ${b.externalName}`);
    for (const s of b.servers) lines.push(`  endpoint ${s.address}:${s.port}${s.ready ? '' : ' (terminating, serving: fallback, B12)'}`);
    if (e.upstreamPath !== undefined) lines.push(`  receives ${e.upstreamPath}`);
  }
  if (e.canary?.backend) lines.push(`  canary: Service ${e.canary.backend.service} port ${e.canary.backend.port} (${e.canary.decision})`);
  if (e.certificate) {
    const c = e.certificate;
    lines.push('', `TLS: SNI ${c.sni || '(none)'} gets certificate ${c.certificate}${c.secret ? ` (Secret ${c.secret}${c.notAfter ? `, valid until ${c.notAfter}` : ''})` : ''} [${c.rule}]${c.passthrough ? `; passed through to ${c.passthrough} unterminated (ssl-passthrough)` : ''}${c.clientCa ? `; asks for a client certificate of CA ${c.clientCa}` : ''}`);
  }
  if (e.candidates.length > 0) {
    lines.push('', 'Not chosen:');
    for (const c of e.candidates) {
      lines.push(`  Ingress ${c.ingress}${c.rule !== undefined ? ` rule ${c.rule} path ${c.path}` : ''} (${c.host}${c.ingressPath !== undefined ? ` ${c.pathType} ${c.ingressPath}` : ''}) [${c.ruleId}]: ${c.reason}`);
      for (const d of c.diagnostics ?? []) lines.push(`    ${d.level} ${d.rule} ${d.field}: ${d.message}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function verdict(e: Explanation): string {
  if (e.outcome === 'bad-request') return '400: refused before routing';
  if (e.outcome === 'not-found') return '404: no route';
  if (e.outcome === 'answered') return `${e.status} from Portico itself${e.location !== undefined ? `, Location ${e.location}` : ''}`;
  const canary = e.canary && e.canary.decision !== 'main' ? ` (canary: ${e.canary.decision})` : '';
  return `served by Service ${e.backend?.service ?? '?'} port ${e.backend?.port ?? '?'}${canary}`;
}
