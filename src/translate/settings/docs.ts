// docs/configmap.md, made from the settings registry: what the user reads and what Portico does come from the same
// entries, as docs/annotations.md does for annotations.
import { INGRESS_NGINX_SETTINGS } from './ingress-nginx-keys.js';
import type { Setting } from './registry.js';

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

const LIVE: Record<Setting['doc']['live'], string> = {
  reload: 'a hitless reload',
  routes: 'route updates (runtime API)',
  maps: 'map updates (runtime API); a reload when the list becomes non-empty or empty',
  none: 'nothing to apply',
};

export function configMapDoc(registry: readonly Setting[]): string {
  const byKey = new Map(registry.map((s) => [s.key, s]));
  const keys = [...new Set([...INGRESS_NGINX_SETTINGS, ...byKey.keys()])].sort();
  const rows = keys.map((key) => {
    const s = byKey.get(key);
    if (!s) return `| \`${key}\` | not yet: ignored, with warning G2 | | | |`;
    const status = s.doc.status ?? (s.doc.noEffect !== undefined ? 'accepted: nothing to do' : s.doc.differences ? 'yes, with a difference' : 'yes');
    const notes = [s.doc.what, s.doc.noEffect !== undefined ? `**Why nothing is done:** ${s.doc.noEffect}` : '', s.doc.differences ? `**Difference:** ${s.doc.differences}` : '', `Value: ${s.describe}.`].filter((n) => n !== '');
    return `| \`${key}\` | ${status} | ${cell(s.doc.default)} | ${LIVE[s.doc.live]} | ${cell(notes.join(' '))} |`;
  });
  return `# The settings ConfigMap

Generated from the settings registry (\`src/translate/settings/\`) by \`UPDATE_DOCS=1 node --test
dist/test/unit/configmap-doc.test.js\`; a unit test fails when this file and the registry disagree.

\`--configmap NAMESPACE/NAME\` names a ConfigMap whose \`data\` holds controller-wide settings under ingress-nginx's
key names, value grammars and defaults. It is watched like every other object (from the Kubernetes API, or read from
the manifests), and \`portico check --configmap\` classifies each of its keys. A key the ConfigMap sets wins over
Portico's flag of the same meaning (the "default" column names it); a key it leaves unset keeps the flag's value. An
annotation of the same name on an Ingress wins over both for that Ingress's paths, where ingress-nginx lets it.

Each value passes a strict grammar first. A value that does not is reported (rule G1 in [rules.md](rules.md)) and
that key keeps its default, except where its absence would grant access (the access lists, the block lists, global
authentication: their rows say what a refused value does instead); a key of ingress-nginx's that Portico does not
read yet is reported with G2, a key ingress-nginx never had with G3 (naming the key that was probably meant), a valid
value Portico honours only in part, or not at all, with G4 (saying what is lost), and a ConfigMap that does not exist
with G5 (every flag keeps its value). Findings are log lines and Warning Events on the ConfigMap. Nothing in a
ConfigMap ever reaches HAProxy's configuration text unchecked.

"Goes live with" says how a change reaches HAProxy: a hitless reload (the new workers take new connections, the old
ones finish theirs; no connection is dropped) for settings the configuration text holds, route updates through the
runtime API for the defaults of route annotations, map updates through the runtime API for the block lists (a list
that becomes empty or non-empty adds or removes its rule: a reload).

${registry.length} of ${keys.length} keys are read; ${registry.filter((s) => s.doc.noEffect !== undefined).length} of them are accepted with nothing to do (the row says why), and
${registry.filter((s) => s.doc.status !== undefined).length} are read but not supported: a value asking for them is reported with G4, and the row says what is lost.

| key | honoured | default | goes live with | what it does in Portico |
|---|---|---|---|---|
${rows.join('\n')}
`;
}
