// The listeners, the HAProxy process and what the frontends add to each request, controller-wide: the keys of
// ingress-nginx's main and http blocks that say where nginx listens, how many workers it runs and which headers
// every request gets.
import { isIP } from 'node:net';
import { bool, headerName, quote, trimSpaces } from '../annotations/values.js';
import type { ValueGrammar } from '../annotations/values.js';
import { setting } from './registry.js';
import { UNSUPPORTED } from './not-in-haproxy.js';

/** HAProxy 2.6 runs at most 64 threads (MAX_THREADS on Debian's build). */
const MAX_THREADS = 64;

/** nginx's worker_processes: `auto` or a number of processes. */
const workerProcesses: ValueGrammar<number | 'auto'> = {
  describe: `auto, or a whole number from 1 to ${MAX_THREADS}`,
  parse: (raw) => {
    if (raw === 'auto') return { ok: true, value: 'auto' };
    const n = /^\d{1,3}$/.test(raw) ? Number(raw) : NaN;
    return n >= 1 && n <= MAX_THREADS ? { ok: true, value: n } : { ok: false, reason: `${quote(raw)} is not auto or a whole number from 1 to ${MAX_THREADS} (HAProxy 2.6 runs at most ${MAX_THREADS} threads)` };
  },
};

/** bind-address (either family), bind-address-ipv4 / -ipv6 (one family): addresses separated by commas. */
function addressList(family?: 4 | 6): ValueGrammar<string[]> {
  const what = family === undefined ? 'IP address' : `IPv${family} address`;
  return {
    describe: `${what}es separated by commas`,
    parse: (raw) => {
      const items = raw.split(',').map(trimSpaces).filter((a) => a !== '');
      if (items.length > 64) return { ok: false, reason: `${quote(raw)} lists more than 64 addresses` };
      const bad = items.find((a) => (family === undefined ? isIP(a) === 0 : isIP(a) !== family));
      return bad === undefined ? { ok: true, value: items } : { ok: false, reason: `${quote(raw)}: ${quote(bad)} is not an ${what}` };
    },
  };
}

const BIND_FLAG = (key: string): string =>
  `${key} is not applied: Portico's listeners bind to --bind-address (one address, or every address when it is empty), the address its readiness probe and start-up port check use too; set that flag instead`;

export const LISTENER_SETTINGS = [
  setting({
    key: 'disable-ipv6',
    grammar: bool,
    set: (s, b) => (s.disableIpv6 = b),
    doc: {
      default: 'false (`--ipv6`: auto)',
      what: '`true`: the listeners bind no IPv6 address, only IPv4; `false` keeps what `--ipv6` decided (by default: IPv6 too when the host has it, as in ingress-nginx).',
      live: 'reload',
    },
  }),
  setting({
    key: 'disable-ipv6-dns',
    grammar: bool,
    set: () => undefined,
    doc: { default: 'false', what: "nginx's resolver `ipv6=off`.", noEffect: 'HAProxy resolves ExternalName targets preferring IPv4 (`resolve-prefer ipv4`) and the answers of the Kubernetes API carry the addresses of endpoints, so there is nothing to switch off.', live: 'none' },
  }),
  setting({
    key: 'worker-processes',
    grammar: workerProcesses,
    set: (s, n) => {
      if (n !== 'auto') s.threads = n;
    },
    doc: {
      default: '`--threads` (auto: the CPU limit)',
      what: "How many CPUs HAProxy uses: a number sets its threads (`nbthread`); `auto` keeps `--threads`, which follows the pod's CPU limit, as ingress-nginx's auto follows the CPUs.",
      differences: `HAProxy runs threads of one process where nginx runs processes; at most ${MAX_THREADS}.`,
      live: 'reload',
    },
  }),
  setting({
    key: 'bind-address',
    grammar: addressList(),
    set: () => undefined,
    notes: (a) => (a.length > 0 ? [BIND_FLAG('bind-address')] : []),
    doc: { default: 'none (every address)', what: 'Addresses nginx listens on, IPv4 and IPv6.', differences: 'not applied (G4 for a non-empty list): use `--bind-address`.', live: 'none', status: UNSUPPORTED },
  }),
  setting({
    key: 'bind-address-ipv4',
    grammar: addressList(4),
    set: () => undefined,
    notes: (a) => (a.length > 0 ? [BIND_FLAG('bind-address-ipv4')] : []),
    doc: { default: 'none (every address)', what: 'IPv4 addresses nginx listens on.', differences: 'not applied (G4 for a non-empty list): use `--bind-address`.', live: 'none', status: UNSUPPORTED },
  }),
  setting({
    key: 'bind-address-ipv6',
    grammar: addressList(6),
    set: () => undefined,
    notes: (a) => (a.length > 0 ? [BIND_FLAG('bind-address-ipv6')] : []),
    doc: { default: 'none (every address)', what: 'IPv6 addresses nginx listens on.', differences: 'not applied (G4 for a non-empty list): use `--bind-address`.', live: 'none', status: UNSUPPORTED },
  }),
  setting({
    key: 'reuse-port',
    grammar: bool,
    set: () => undefined,
    doc: {
      default: 'true',
      what: "nginx's `reuseport`: one listening socket per worker, the kernel spreading connections over them.",
      noEffect: "HAProxy's threads share each listening socket and spread connections themselves; Portico binds without SO_REUSEPORT on purpose, so that a second HAProxy left on the same port is an error instead of silently taking part of the traffic, and reloads pass the sockets to the new worker.",
      live: 'none',
    },
  }),
  setting({
    key: 'enable-serial-reloads',
    grammar: bool,
    set: () => undefined,
    doc: {
      default: 'false',
      what: 'nginx waits for the workers of one reload to be running before the next.',
      noEffect: 'Portico applies one configuration at a time already (a reload is waited for before the next, at most one per `--reload-interval`), and old workers stop within `worker-shutdown-timeout`.',
      live: 'none',
    },
  }),
  setting({
    key: 'default-type',
    grammar: {
      describe: 'a MIME type (type/subtype)',
      parse: (raw) => (/^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}\/[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/.test(raw) ? { ok: true, value: raw } : { ok: false, reason: `${quote(raw)} is not a MIME type (type/subtype)` }),
    },
    set: () => undefined,
    doc: {
      default: 'text/html',
      what: "nginx's default_type: the Content-Type of what nginx serves from files.",
      noEffect: "HAProxy serves no files: backends' responses keep their own Content-Type (or none), and Portico's own answers name theirs.",
      live: 'none',
    },
  }),
  setting({
    key: 'generate-request-id',
    grammar: bool,
    set: (s, b) => (s.generateRequestId = b),
    doc: {
      default: 'true',
      what: "`true`: a request without X-Request-ID gets a random one (32 hex digits) before it reaches the backend; `false`: only a client's own X-Request-ID is passed on, and a request without one has none, as in ingress-nginx.",
      live: 'reload',
    },
  }),
  setting({
    key: 'proxy-add-original-uri-header',
    grammar: bool,
    set: (s, b) => (s.addOriginalUri = b),
    doc: {
      default: 'false',
      what: "`true`: every request reaches its backend with X-Original-URI, the path and query as the client sent them (nginx's `$request_uri`), replacing a client's own.",
      live: 'reload',
    },
  }),
  setting({
    key: 'forwarded-host-header',
    grammar: headerName,
    set: () => undefined,
    notes: (h) => (h === 'x-forwarded-host' ? [] : [`backends still get X-Forwarded-Host, from the request's Host header: Portico names the forwarded host with no other header`]),
    doc: {
      default: 'X-Forwarded-Host',
      what: "The header ingress-nginx passes the request's original host in, and (with use-forwarded-headers) trusts for it.",
      differences: 'another name is reported (G4): backends get X-Forwarded-Host, set from the Host header the client sent.',
      live: 'none',
      status: UNSUPPORTED,
    },
  }),
  setting({
    key: 'strict-validate-path-type',
    grammar: bool,
    set: () => undefined,
    doc: {
      default: 'true',
      what: 'ingress-nginx refuses an Ingress whose Exact or Prefix paths hold characters other than letters, digits and `. _ - /`.',
      noEffect:
        "Portico matches an Exact or Prefix path as literal text whatever characters it holds (`/api/(v1)` is that text), unless its Ingress asks for regular expressions (use-regex, rewrite-target) as in ingress-nginx, and every path passes Portico's own path rules (docs/rules.md): the check ingress-nginx makes to keep such paths from reaching nginx's configuration is not needed, and an Ingress it would refuse for them is served.",
      live: 'none',
    },
  }),
  setting({
    key: 'allow-cross-namespace-resources',
    grammar: bool,
    set: () => undefined,
    notes: (b) => (b ? ["annotations still cannot name a Secret or ConfigMap of another namespace: Portico refuses such a reference (the annotation's row in docs/annotations.md says how)"] : []),
    doc: {
      default: 'false',
      what: 'Whether annotations may name Secrets and ConfigMaps of other namespaces.',
      differences: '`true` is reported (G4): Portico never follows a reference into another namespace.',
      live: 'none',
      status: UNSUPPORTED,
    },
  }),
];
