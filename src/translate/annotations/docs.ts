// docs/annotations.md, made from the registry: what the user reads and what Portico does come from the same entries.
import { INGRESS_NGINX_ANNOTATIONS } from './ingress-nginx-names.js';
import { NGINX_PREFIX, PORTICO_PREFIX } from './registry.js';
import type { Annotation } from './registry.js';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function annotationsDoc(registry: readonly Annotation[]): string {
  const byName = new Map(registry.map((a) => [a.name, a]));
  const names = [...new Set([...INGRESS_NGINX_ANNOTATIONS, ...byName.keys()])].sort();
  const rows = names.map((name) => {
    const a = byName.get(name);
    if (!a) return `| \`${name}\` | not yet: ignored, with warning A2 | | |`;
    const status = a.doc.status ?? (a.doc.noEffect !== undefined ? 'accepted: nothing to do' : a.doc.differences ? 'yes, with a difference' : 'yes');
    const notes = [
      a.doc.what,
      a.doc.noEffect !== undefined ? `**Why nothing is done:** ${a.doc.noEffect}` : '',
      a.doc.differences ? `**Difference:** ${a.doc.differences}` : '',
      `Value: ${a.describe}; applies to: ${a.scope}.`,
    ].filter((n) => n !== '');
    return `| \`${name}\` | ${status} | ${cell(a.doc.default)} | ${cell(notes.join(' '))} |`;
  });
  return `# Annotations

Generated from the annotation registry (\`src/translate/annotations/\`) by \`UPDATE_DOCS=1 node --test
dist/test/unit/annotations-doc.test.js\`; a unit test fails when this file and the registry disagree.

Every annotation ingress-nginx reads, by its name after \`${NGINX_PREFIX}\`. Portico reads the same name under
\`${PORTICO_PREFIX}\` too; that one wins when both are set. ${registry.filter((a) => a.doc.status === undefined).length} of ${names.length} are honoured so far
(${registry.filter((a) => a.doc.noEffect !== undefined).length} of them accepted with nothing to do: HAProxy already behaves so, the row says why).
Each value passes a strict grammar first; a value that does not is reported (rule A1 in [rules.md](rules.md)) and
ignored. An annotation not honoured yet is reported with rule A2, and a key ingress-nginx never had with rule A3,
naming the annotation that was probably meant.

| annotation | honoured | default | what it does in Portico |
|---|---|---|---|
${rows.join('\n')}
`;
}
