// FastCGI backends: `backend-protocol: FCGI` (upstream.ts) with `fastcgi-index`, ingress-nginx's fastcgi_pass
// location (its annotations/fastcgi and the template's `include fastcgi_params`, `fastcgi_index`, `fastcgi_param`).
// HAProxy 2.6 speaks FastCGI through an `fcgi-app` section, which a backend names with `use-fcgi-app` and whose
// servers say `proto fcgi`. The index file name and the params are lines of that section, configuration text, so
// they are a backend policy (BackendPolicy.fastcgi): a backend with one has a section of its own (`..._fcgi_app<id>`),
// written by a reload, and scaling it afterwards is runtime (`add server ... proto fcgi`, verified on 2.6.12).
import { createHash } from 'node:crypto';
import type { Diagnostic, FastCgiParam, FastCgiPolicy } from '../../model/types.js';
import type { Obj } from '../../k8s/objects.js';
import { configMapNameGrammar, readConfigMap } from '../configmaps.js';
import { annotation, NGINX_PREFIX } from './registry.js';
import type { AnnotationValues } from './registry.js';
import { quote } from './values.js';
import type { Parsed, ValueGrammar } from './values.js';

/** ingress-nginx's grammar of an index file name and of a param name (`regexValidIndexAnnotationAndKey`), bounded. */
const FILE_OR_NAME = /^[A-Za-z0-9._-]{1,255}$/;
/** ingress-nginx's grammar of a param value (`validFCGIValue`) without `$`, `{` and `}`: nginx variables, which
 * HAProxy would send as literal text, are refused until they are mapped to HAProxy samples. Empty: see below. */
const PARAM_VALUE = /^[A-Za-z0-9_/.-]{0,1024}$/;

/** `fastcgi-index`: one file name, as ingress-nginx's grammar; `.` and `..` name no file. */
export const fastcgiIndex: ValueGrammar<string> = {
  describe: 'a file name (letters, digits, ., - and _)',
  parse: (raw) => {
    if (!FILE_OR_NAME.test(raw)) return { ok: false, reason: `${quote(raw)} is not a file name (letters, digits, ., - and _, at most 255)` };
    if (raw === '.' || raw === '..') return { ok: false, reason: `${quote(raw)} names no file` };
    return { ok: true, value: raw };
  },
};

/**
 * One FastCGI param, as a key and value of fastcgi-params-configmap's ConfigMap give it: ingress-nginx's grammars,
 * minus nginx variables. An empty value is accepted: HAProxy sends no param with an
 * empty value, so it removes the param of that name (Portico's or HAProxy's own), where nginx sends it empty.
 */
export function fastcgiParam(name: string, value: string): Parsed<FastCgiParam> {
  if (!FILE_OR_NAME.test(name)) return { ok: false, reason: `param name ${quote(name)} must be letters, digits, ., - and _ (at most 255)` };
  if (/[${}]/.test(value)) return { ok: false, reason: `param ${name}: ${quote(value)} holds an nginx variable or brace, which Portico does not expand` };
  if (!PARAM_VALUE.test(value)) return { ok: false, reason: `param ${name}: ${quote(value)} must be letters, digits, /, ., - and _ (at most 1024)` };
  return { ok: true, value: { name, value } };
}

/** The FastCGI policy of an Ingress whose paths speak FCGI; `params`: what fastcgi-params-configmap's ConfigMap gave. Equal policies have equal ids, so their backends share one fcgi-app. */
export function fastcgiPolicyOf(v: AnnotationValues, params: readonly FastCgiParam[] = []): FastCgiPolicy | undefined {
  if (v.backendProtocol !== 'fcgi') return undefined;
  const sorted = [...params].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const id = createHash('sha256').update(JSON.stringify([v.fastcgiIndex ?? null, sorted.map((p) => [p.name, p.value])])).digest('hex').slice(0, 8);
  return { id, ...(v.fastcgiIndex !== undefined ? { index: v.fastcgiIndex } : {}), params: sorted };
}

/**
 * The params of fastcgi-params-configmap's ConfigMap, each through `fastcgiParam`; a bad entry is left out with a
 * finding on the ConfigMap naming its key. A ConfigMap in another namespace or missing gives no params and a finding on
 * the Ingress.
 */
export function fastcgiParamsOf(v: AnnotationValues, ing: { namespace: string; ref: string }, lookup: (key: string) => Obj | undefined): { params: FastCgiParam[]; diagnostics: Diagnostic[] } {
  if (v.fastcgiParamsConfigMap === undefined || v.backendProtocol !== 'fcgi') return { params: [], diagnostics: [] };
  const field = v.fastcgiParamsField ?? `metadata.annotations[${NGINX_PREFIX}fastcgi-params-configmap]`;
  const read = readConfigMap(v.fastcgiParamsConfigMap, ing, field, 'fastcgi-params', lookup, 'no params of it are sent');
  if ('refused' in read) return { params: [], diagnostics: [read.refused] };
  const params: FastCgiParam[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const [key, value] of read.data.entries) {
    const p = fastcgiParam(key, value);
    if (p.ok) params.push(p.value);
    else diagnostics.push({ level: 'warning', object: read.data.object, field: `data[${key}]`, rule: 'fastcgi-params', message: `${p.reason}; this param is not sent` });
  }
  return { params, diagnostics };
}

export const FASTCGI_ANNOTATIONS = [
  annotation({
    name: 'fastcgi-index',
    scope: 'backend',
    grammar: fastcgiIndex,
    set: (v, x) => (v.fastcgiIndex = x),
    doc: {
      default: 'none: a path ending in `/` is the script name as it is',
      what:
        'With `backend-protocol: FCGI`: the file name appended to a path ending in `/` to make SCRIPT_NAME and SCRIPT_FILENAME (nginx\'s fastcgi_index; HAProxy\'s `index` in the backend\'s `fcgi-app`). ' +
        'Ingresses that send to one Service port with different values each get their own HAProxy backend (`..._fcgi_app<id>`, with an `fcgi-app` section per distinct value). ' +
        'Live: a new or changed value takes one reload (the index is a line of the fcgi-app section, which HAProxy 2.6 cannot change at runtime); scaling the backend afterwards is runtime. Without FCGI it has no effect, as in ingress-nginx.',
      differences: 'A backend setting: the Service port\'s section, not each path (ingress-nginx sets it per location). `.` and `..` are refused (A1).',
    },
  }),
  annotation({
    name: 'fastcgi-params-configmap',
    scope: 'backend',
    grammar: configMapNameGrammar,
    set: (v, x) => (v.fastcgiParamsConfigMap = x),
    doc: {
      default: 'none',
      what:
        "With `backend-protocol: FCGI`: a ConfigMap (`name` in the Ingress's namespace, or `namespace/name` of that namespace) whose `data` are FastCGI params sent with every request (nginx's fastcgi_param lines), replacing Portico's param of the same name; an empty value sends none. Ingresses that send to one Service port with different params each get their own HAProxy backend. Live: a changed ConfigMap or value takes one reload (params are lines of the backend's `fcgi-app` section); a change to a ConfigMap no Ingress names costs nothing.",
      differences:
        'Values are literal: nginx variables (`$document_root$fastcgi_script_name`) and braces are refused, as are characters outside letters, digits, `/`, `.`, `-` and `_`; such an entry is left out with a warning on the ConfigMap naming its key (rule `fastcgi-params`) and the other params are sent, where ingress-nginx refuses the Ingress. A missing ConfigMap, or one in another namespace, sends no params (a warning on the Ingress), where ingress-nginx answers 503. An empty value removes the param (HAProxy sends no empty param), where nginx sends it empty.',
    },
  }),
];
