// GET /debug/explain?url=...&method=...&header=K:V&client=IP&sni=NAME[&output=text]: explain on the admin listener,
// from the model live now. JSON by default (tools and the dashboard), text with output=text.
import { explainRequest } from './explain.js';
import type { ExplainInput, ExplainOptions } from './explain.js';
import { explainJson, explainText } from './format.js';
import { RequestError, requestFromUrl } from './request.js';

const MAX_HEADERS = 64;

export function debugExplain(live: ExplainInput | undefined, q: URLSearchParams, o: ExplainOptions): { status: number; contentType: string; body: string } {
  const text = (status: number, body: string) => ({ status, contentType: 'text/plain; charset=utf-8', body });
  if (!live) return text(503, 'no configuration is live yet\n');
  const url = q.get('url');
  if (url === null) return text(400, 'url= is required (http://host/path)\n');
  const headers = q.getAll('header');
  if (headers.length > MAX_HEADERS) return text(400, `at most ${MAX_HEADERS} header= parameters\n`);
  const sni = q.get('sni');
  const client = q.get('client');
  let req;
  try {
    req = requestFromUrl(url, q.get('method') ?? 'GET', headers, { ...(sni !== null ? { sni } : {}), ...(client !== null ? { clientAddress: client } : {}) });
  } catch (e) {
    if (e instanceof RequestError) return text(400, `${e.message}\n`);
    throw e;
  }
  const e = explainRequest(live, req, o);
  return q.get('output') === 'text' ? text(200, explainText(e)) : { status: 200, contentType: 'application/json', body: explainJson(e) };
}
