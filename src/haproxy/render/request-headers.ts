// Headers every request gets on its way to a backend that settings of the ConfigMap decide: X-Request-ID
// (`generate-request-id`) and X-Original-URI (`proxy-add-original-uri-header`). Constant text: no value of the
// ConfigMap is written, only whether a line is.
import type { GlobalSettings } from '../../model/types.js';

const GENERATE_REQUEST_ID = [
  "# 128 random bits as 32 lowercase hex digits, the form of ingress-nginx's $req_id. Four 32-bit rand draws cost about",
  '# 450 instructions less than %[uuid] (which formats through snprintf), and like it they tell backends nothing about',
  '# the client, unlike a unique-id built from connection fields.',
  'http-request set-header X-Request-ID %[rand,hex,bytes(8,8),lower]%[rand,hex,bytes(8,8),lower]%[rand,hex,bytes(8,8),lower]%[rand,hex,bytes(8,8),lower] unless { req.hdr(x-request-id) -m found }',
];

export function requestIdLines(g: GlobalSettings | undefined): string[] {
  return [
    ...(g?.generateRequestId === false ? ["# generate-request-id: false: only a client's own X-Request-ID reaches the backend."] : GENERATE_REQUEST_ID),
    // Before any rewrite: nginx's $request_uri is the URI as the client sent it.
    ...(g?.addOriginalUri === true ? ['# proxy-add-original-uri-header: the URI as the client sent it.', 'http-request set-header X-Original-URI %[capture.req.uri]'] : []),
  ];
}
