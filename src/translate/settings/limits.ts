// Limits and timeouts, controller-wide: ingress-nginx's http block (client_*_timeout, keepalive_timeout,
// client_max_body_size, proxy_*_timeout, limit_req_status, limit_conn_status) and its worker shutdown.
import { integer, quote, size } from '../annotations/values.js';
import type { ValueGrammar } from '../annotations/values.js';
import { setting } from './registry.js';

/** Whole seconds, up to HAProxy's largest timeout (2^31 - 1 ms). */
const SECONDS = integer(1, 2_147_483);
/** nginx's limit_req_status and limit_conn_status take 400-599. */
const ERROR_STATUS = integer(400, 599);

/** An nginx time (`240s`, `10m`, `1h`, or a number of seconds), in whole seconds from 1 to a day. */
const nginxTime: ValueGrammar<number> = {
  describe: 'an nginx time such as 240s, 10m or 1h',
  parse: (raw) => {
    const m = /^(\d{1,6})(s|m|h)?$/.exec(raw);
    const seconds = m ? Number(m[1]) * { s: 1, m: 60, h: 3600 }[m[2] ?? 's']! : NaN;
    return seconds >= 1 && seconds <= 86_400 ? { ok: true, value: seconds } : { ok: false, reason: `${quote(raw)} is not an nginx time from 1s to 24h, such as 240s, 10m or 1h` };
  },
};

const ONE_TIMER = 'HAProxy has one inactivity timer for both directions towards a backend: with both keys set, the larger applies to reading and sending alike.';

export const LIMIT_SETTINGS = [
  setting({
    key: 'proxy-body-size',
    grammar: size(2 ** 50),
    set: (s, n) => (s.maxBodyBytes = n),
    doc: { default: '`--proxy-body-size` (1m)', what: "The largest request body (0: no limit); a larger one gets 413. The `proxy-body-size` annotation overrides it for an Ingress's paths.", differences: 'as for `--proxy-body-size` (docs/rules.md): part of a streamed body below the limit may reach the backend before the 413.', live: 'reload' },
  }),
  setting({
    key: 'client-header-timeout',
    grammar: SECONDS,
    set: (s, n) => (s.clientHeaderTimeout = n),
    doc: { default: '`--client-request-timeout` (10)', what: "Seconds a client has to send a request's headers (HAProxy's `timeout http-request`); a slower one gets 408.", differences: "Portico's default is 10 s where ingress-nginx's is 60 s (slowloris protection).", live: 'reload' },
  }),
  setting({
    key: 'client-body-timeout',
    grammar: SECONDS,
    set: (s, n) => (s.clientBodyTimeout = n),
    doc: { default: '`--client-body-timeout` (60)', what: 'Seconds a client has to send a request body into the buffer before 408.', live: 'reload' },
  }),
  setting({
    key: 'keep-alive',
    grammar: integer(1, 3600),
    set: (s, n) => (s.keepAlive = n),
    doc: { default: '`--client-keepalive-timeout` (60)', what: 'Seconds an idle keep-alive client connection is kept open.', differences: '`0` (no keep-alive in nginx) is refused (G1): HAProxy reads a zero timeout as none at all.', live: 'reload' },
  }),
  setting({
    key: 'proxy-connect-timeout',
    grammar: SECONDS,
    set: (s, n) => (s.connectTimeout = n),
    doc: { default: '`--upstream-connect-timeout` (5)', what: 'Seconds to connect to a backend.', live: 'reload' },
  }),
  setting({
    key: 'proxy-read-timeout',
    grammar: SECONDS,
    set: (s, n) => (s.serverTimeout = Math.max(s.serverTimeout ?? 0, n)),
    doc: { default: '`--upstream-read-timeout` (60)', what: "Seconds a backend may stay silent before 504; the annotation of the same name overrides it for an Ingress's paths.", differences: ONE_TIMER, live: 'reload' },
  }),
  setting({
    key: 'proxy-send-timeout',
    grammar: SECONDS,
    set: (s, n) => (s.serverTimeout = Math.max(s.serverTimeout ?? 0, n)),
    doc: { default: '`--upstream-read-timeout` (60)', what: 'Seconds a backend may take to accept what is sent to it.', differences: ONE_TIMER, live: 'reload' },
  }),
  setting({
    key: 'worker-shutdown-timeout',
    grammar: nginxTime,
    set: (s, n) => (s.workerShutdownTimeout = n),
    doc: { default: '`--hard-stop-after` (3600)', what: 'How long the workers of a replaced configuration may keep serving the connections they hold (WebSockets, long downloads) after a reload.', differences: "Portico's default is an hour where ingress-nginx's is 240 s, so that a routine reload does not cut WebSockets.", live: 'reload' },
  }),
  setting({
    key: 'limit-req-status-code',
    grammar: ERROR_STATUS,
    set: (s, n) => (s.limitReqStatus = n),
    doc: { default: '503', what: 'The status of a request refused by `limit-rps` or `limit-rpm`.', live: 'reload' },
  }),
  setting({
    key: 'limit-conn-status-code',
    grammar: ERROR_STATUS,
    set: (s, n) => (s.limitConnStatus = n),
    doc: { default: '503', what: 'The status of a request refused by `limit-connections`.', live: 'reload' },
  }),
];
