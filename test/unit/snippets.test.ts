// The snippet annotations without HAProxy: nginx's tokenizer rules (quotes, escapes, comments, `;` and `#` inside
// quotes, line breaks inside quotes), the translated directives on snippets from real manifests, hostile and huge
// snippets refused whole with the directive named, the server/location combination, render's own checks and encoding,
// and the runtime plan (a changed value is map operations, a header name or status code not in use is a reload).
// The e2e test shows what a client and a backend see.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { tokenize } from '../../src/translate/annotations/nginx-directives.js';
import { combineSnippets, snippet } from '../../src/translate/annotations/snippets.js';
import type { SnippetPolicy } from '../../src/translate/annotations/snippets.js';
import { parseIngressAnnotations } from '../../src/translate/annotations/index.js';
import { Findings } from '../../src/translate/diagnostics.js';
import { encodeValue, headerNameWord, headerRules, returnCode, returnRules } from '../../src/haproxy/render/policy/snippets.js';
import { checkTemplate, templatesLine } from '../../src/haproxy/render/policy/snippet-variables.js';
import { plan } from '../../src/haproxy/runtime/plan.js';
import { DEFAULT_PEM, model, opSummary, ops, reloadedWith, svc } from './plan-fixtures.js';

const ok = (text: string): SnippetPolicy => {
  const p = snippet.parse(text);
  assert.ok(p.ok, `refused ${JSON.stringify(text)}: ${p.ok ? '' : p.reason}`);
  return p.value;
};
const refused = (text: string): string => {
  const p = snippet.parse(text);
  assert.equal(p.ok, false, `accepted ${JSON.stringify(text)}`);
  return p.ok ? '' : p.reason;
};
const words = (text: string): string[][] => {
  const t = tokenize(text);
  assert.ok(t.ok, t.ok ? '' : t.reason);
  return t.directives.map((d) => [d.name, ...d.args]);
};

void describe("nginx's tokenizer rules", () => {
  test('quotes, escapes and comments as nginx reads them', () => {
    assert.deepEqual(words(`a "b c" 'd;e' f#g # comment ; not read\nh "i#j";`), [['a', 'b c', 'd;e', 'f#g', 'h', 'i#j']]);
    assert.deepEqual(words(String.raw`a "x\"y" 'p\'q' r\ s "t\\u" "v\w";`), [['a', 'x"y', "p'q", 'r\\ s', 't\\u', 'v\\w']]);
    assert.deepEqual(words('a "line\none";b;'), [['a', 'line\none'], ['b']]);
    assert.deepEqual(words(String.raw`a "tab\there";`), [['a', 'tab\there']]);
    assert.deepEqual(words('a x"y"z;'), [['a', 'x"y"z']], 'a quote inside a word is a character');
    assert.deepEqual(words('a "";'), [['a', '']]);
    assert.deepEqual(words('a b}c ${x};'), [['a', 'b}c', '${x}']], 'as in nginx, "}" inside a word and "{" after "$" are characters');
    assert.deepEqual(words('# only a comment\n\n'), []);
  });

  test('what nginx refuses to read is refused, with the line', () => {
    for (const [text, why] of [
      ['a "b"c;', /line 1: unexpected "c" after a quoted string/],
      ["a 'b;", /unterminated single-quoted string/],
      ['a "b;\nc;', /unterminated double-quoted string/],
      ['a b', /"a" has no ";"/],
      [';', /unexpected ";"/],
      ['x 1;\nif ($a) { return 403; }', /line 2: the block of "if"/],
      ['}', /blocks/],
      ['location /x { }', /the block of "location"/],
    ] as const)
      assert.match(tokenize(text).ok ? '' : (tokenize(text) as { reason: string }).reason, why, text);
  });

  test('a megabyte snippet is refused at once, and a long valid one is read in linear time', () => {
    const started = process.hrtime.bigint();
    assert.match(refused(`add_header X-A "${'a'.repeat(1 << 20)}";`), /more than the 65536/);
    const long = 'more_set_headers "X-A: 1";\n'.repeat(2400);
    assert.equal(Object.keys(ok(long).headers.responseSet ?? {}).length, 1);
    assert.ok(ok(`# ${'"'.repeat(60_000)}\nadd_header X-B 1;`).headers.responseAdd);
    assert.ok(Number(process.hrtime.bigint() - started) / 1e6 < 1000, 'well under a second');
  });
});

void describe('translated directives', () => {
  test('a snippet from a real manifest', () => {
    const p = ok(`
      more_set_headers "X-Frame-Options: SAMEORIGIN";
      more_set_headers "X-Content-Type-Options: nosniff" "X-XSS-Protection: 1; mode=block";
      add_header Strict-Transport-Security "max-age=31536000; includeSubDomains; preload" always;
      add_header Cache-Control "no-cache, no-store";
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header Authorization "";
      more_set_input_headers "X-Tenant: blue";
      more_clear_input_headers "X-Debug";
      more_clear_headers Server X-Powered-By 'X-AspNet-*';
    `);
    assert.deepEqual(p.headers, {
      requestSet: { 'x-forwarded-proto': 'https', 'x-tenant': 'blue' },
      requestClear: ['authorization', 'x-debug'],
      responseSet: { 'x-content-type-options': 'nosniff', 'x-frame-options': 'SAMEORIGIN', 'x-xss-protection': '1; mode=block' },
      responseAdd: { 'cache-control': 'no-cache, no-store' },
      responseAddAlways: { 'strict-transport-security': 'max-age=31536000; includeSubDomains; preload' },
      responseClear: ['server', 'x-aspnet-*', 'x-powered-by'],
    });
    assert.equal(p.respond, undefined);
  });

  test('the last edit of a name wins; a wildcard clear drops the sets it covers; an empty more_set_headers value clears', () => {
    assert.deepEqual(ok("more_set_headers 'X-A: 1'; more_clear_headers X-A; more_set_headers 'X-A: 2';").headers, { responseSet: { 'x-a': '2' } });
    assert.deepEqual(ok("more_set_headers 'X-A-1: 1' 'X-B: 2'; more_clear_headers 'X-A-*';").headers, { responseSet: { 'x-b': '2' }, responseClear: ['x-a-*'] });
    assert.deepEqual(ok("more_set_headers 'X-A:' 'X-B';").headers, { responseClear: ['x-a', 'x-b'] });
    assert.deepEqual(ok('add_header X-A "";').headers, {}, 'nginx adds nothing for an empty value');
  });

  test('return: text, Location, a URL alone (302), no text, 444; the first one answers', () => {
    assert.deepEqual(ok("return 200 'ok; fine\\n';").respond, { code: 200, text: 'ok; fine\n' });
    assert.deepEqual(ok('return 301 https://n.example.com/a?b=c;').respond, { code: 301, location: 'https://n.example.com/a?b=c' });
    assert.deepEqual(ok('return 308 /relative;').respond, { code: 308, location: '/relative' });
    assert.deepEqual(ok('return https://n.example.com/;').respond, { code: 302, location: 'https://n.example.com/' });
    assert.deepEqual(ok('return 403;').respond, { code: 403 });
    assert.deepEqual(ok('return 444;').respond, { code: 444 });
    assert.deepEqual(ok('return 403; return 200 x;').respond, { code: 403 });
    for (const bad of ['return 99;', 'return 600;', 'return 444 x;', 'return 204 x;', 'return abc;', 'return 200 a b;', 'return;', "return 200 'a\\nb';", "return 200 '\\n';", 'return 301 "a b";'])
      assert.match(refused(bad), /return/, bad);
  });

  test('nginx variables: the supported set, written ${name} lowercase, literal text kept; the templates real snippets use', () => {
    assert.deepEqual(ok('return 301 https://$host$request_uri;').respond, { code: 301, location: 'https://${host}${request_uri}' });
    assert.deepEqual(ok('return $scheme://$Host$uri?$args;').respond, { code: 302, location: '${scheme}://${host}${uri}?${args}' }, 'a URL alone may start with $scheme');
    assert.deepEqual(ok('more_set_headers "X-Request-Id: $request_id";').headers, { responseSet: { 'x-request-id': '${request_id}' } });
    assert.deepEqual(ok('proxy_set_header X-Original-Host $host; proxy_set_header X-Forwarded-Uri $request_uri;').headers, { requestSet: { 'x-forwarded-uri': '${request_uri}', 'x-original-host': '${host}' } });
    assert.deepEqual(ok("more_set_input_headers 'X-Client-IP: $remote_addr';").headers, { requestSet: { 'x-client-ip': '${remote_addr}' } });
    assert.deepEqual(ok('add_header X-Who "${http_user_agent}-$cookie_session;$arg_Page $proxy_add_x_forwarded_for" always;').headers, {
      responseAddAlways: { 'x-who': '${http_user_agent}-${cookie_session};${arg_page} ${proxy_add_x_forwarded_for}' },
    });
    assert.deepEqual(ok('proxy_set_header X-A "$http_x-y {}";').headers, { requestSet: { 'x-a': '${http_x}-y {}' } }, 'nginx reads a name greedily over letters, digits and _');
    assert.deepEqual(ok('return 200 "$remote_addr $request_method $server_port $query_string\n";').respond, { code: 200, text: '${remote_addr} ${request_method} ${server_port} ${query_string}\n' });
    assert.deepEqual(ok('add_header X-A "no variable {} here";').headers, { responseAdd: { 'x-a': 'no variable {} here' } });
  });

  test('everything else is refused whole, naming the directive and the reason', () => {
    for (const [text, why] of [
      ['more_set_headers "X-A: 1";\nlua_need_request_body on;', /line 2: lua_need_request_body: Lua is never run/],
      ['access_by_lua_block { ngx.exit(403) }', /the block of "access_by_lua_block"/],
      ['content_by_lua "ngx.say(1)";', /content_by_lua: Lua is never run/],
      ['proxy_pass http://evil;', /proxy_pass: not a directive Portico translates/],
      ['set $x 1;', /set: not a directive/],
      ['rewrite ^ /x break;', /rewrite: not a directive/],
      ['http-request deny;', /"?http-request"?: not a directive/],
      ['more_set_headers -s 404 "X-A: 1";', /option "-s" \(status list\)/],
      ['more_set_headers -t text/html "X-A: 1";', /option "-t"/],
      ['more_set_input_headers -r "X-A: 1";', /option "-r"/],
      ['add_header X-A "cost: 5$";', /a "\$" in the value starts no variable name/],
      ['add_header X-Upstream $upstream_addr;', /\$upstream_addr is known only once the backend answered/],
      ['more_set_headers "X-S: $status";', /\$status is known only once/],
      ['proxy_set_header X-A $hostname;', /\$hostname is not one Portico expands \(it expands \$host, /],
      ['proxy_set_header X-A $hosts;', /\$hosts is not one/],
      ['proxy_set_header X-A "${host";', /"\$\{host" in the value has no closing "\}"/],
      ['proxy_set_header X-A "${}";', /starts no variable name/],
      ['proxy_set_header X-A "${ho st}";', /\$ho st is not one/],
      ['proxy_set_header X-A "$$host";', /starts no variable name/],
      ['proxy_set_header X-A "a\r$host";', /control character|line break/],
      [`proxy_set_header X-A "${'$host'.repeat(200)}";`, /values with nginx variables take \d+ characters/],
      ['return 302 "https://$host/a b";', /not a URL/],
      ['add_header X-A "a\nb";', /line break/],
      ['add_header X-A "a\\tb";', /control character/],
      ['add_header X-A "caf\u00e9";', /outside printable ASCII/],
      ['add_header "X A" v;', /not a header name/],
      ['add_header X-A:b v;', /not a header name/],
      ["add_header 'X-A\n  acl x' v;", /not a header name/],
      ['add_header X-A v sometimes;', /optional "always"/],
      ['add_header X-A 1; add_header X-A 2;', /added twice/],
      ['proxy_set_header Content-Length 0;', /"content-length"/],
      ['more_clear_headers Transfer-Encoding;', /"transfer-encoding"/],
      ["more_clear_headers 'Content-*';", /would touch "content-length"/],
      ["more_clear_headers '*';", /not a header name/],
      ['more_set_headers "X-Portico-Internal-Error: 1";', /x-portico-/],
      ["more_clear_headers 'X-*';", /would touch/],
      ['proxy_set_header X-A;', /takes a header name and a value/],
      ['more_set_headers;', /no header given/],
      [`add_header X-A "${'v'.repeat(5000)}";`, /longer than 1024/],
    ] as const)
      assert.match(refused(text), why, text);
  });

  test('A4 names the annotation; notes for what has no effect; stream-snippet refused; A1 untouched for other annotations', () => {
    const f = new Findings('Ingress default/x');
    const v = parseIngressAnnotations(
      {
        'nginx.ingress.kubernetes.io/configuration-snippet': 'rewrite ^ /x;',
        'nginx.ingress.kubernetes.io/server-snippet': 'proxy_set_header X-A 1; more_set_headers "X-B: 2";',
        'nginx.ingress.kubernetes.io/auth-snippet': 'proxy_set_header X-Key k;',
        'nginx.ingress.kubernetes.io/stream-snippet': 'server { }',
      },
      f,
    );
    assert.equal(v.configurationSnippet, undefined);
    assert.deepEqual(v.serverSnippet?.headers.responseSet, { 'x-b': '2' });
    assert.deepEqual(
      f.list.map((d) => [d.field.replace('metadata.annotations[nginx.ingress.kubernetes.io/', '').replace(']', ''), d.rule]),
      [['configuration-snippet', 'A4'], ['server-snippet', 'A4'], ['stream-snippet', 'A4'], ['auth-snippet', 'auth-ignored']],
    );
    assert.match(f.list[0]!.message, /rewrite: not a directive Portico translates.*the snippet is left out/);
    assert.match(f.list[1]!.message, /proxy_set_header x-a: has no effect in a server-snippet/);
    assert.match(f.list[3]!.message, /this Ingress has no auth-url: it has no effect/);
  });

  test("server and location combine as nginx's blocks do", () => {
    const server = ok("more_set_headers 'X-S: s' 'X-Both: s'; add_header X-Add s; proxy_set_header X-P s; more_set_input_headers 'X-I: s'; return 403;");
    const bare = combineSnippets(ok("more_set_headers 'X-Both: l';"), server);
    assert.deepEqual(bare.headers, { requestSet: { 'x-i': 's' }, responseSet: { 'x-both': 'l', 'x-s': 's' }, responseAdd: { 'x-add': 's' } });
    assert.deepEqual(bare.respond, { code: 403 }, "the server's return answers first");
    const own = combineSnippets(ok('add_header X-Own l; return 200 x;'), server);
    assert.deepEqual(own.headers?.responseAdd, { 'x-own': 'l' }, 'no add_header inherited into a location with its own');
    assert.deepEqual(own.respond, { code: 403 });
    assert.deepEqual(combineSnippets(ok('return 200 x;'), undefined), { respond: { code: 200, text: 'x' } });
    assert.deepEqual(combineSnippets(undefined, undefined), {});
  });
});

void describe("render's own checks", () => {
  test('header names: the strict grammar only, never a framing header or a wildcard that could reach one', () => {
    assert.equal(headerNameWord('x-frame-options', false), 'x-frame-options');
    assert.equal(headerNameWord('x-powered-*', true), 'x-powered-*');
    for (const [bad, wildcard] of [['X-A', false], ['x a', false], ['x-a\n', false], ['x-a*', false], ['content-length', false], ['x-portico-internal-error', false], ['x-*', true], ['co*', true], ['*', true], ['x;a', false], ['%[src]', false]] as const)
      assert.throws(() => headerNameWord(bad, wildcard), /render: refusing header name/, bad);
  });

  test('values are percent-encoded into one map word that url_dec turns back into the value', () => {
    const v = `max-age=31536000; includeSubDomains "#x" 'y' \\ 50% + ?`;
    const e = encodeValue(v);
    assert.match(e, /^[A-Za-z0-9._~/:=,@()!*%-]+$/);
    assert.equal(decodeURIComponent(e), v);
    assert.equal(encodeValue('a\tb', true), 'a%09b');
    for (const bad of ['', 'a\nb', 'a\rb', 'caf\u00e9', 'x'.repeat(4097), '\0']) assert.throws(() => encodeValue(bad), /render: refusing snippet value/, JSON.stringify(bad));
  });

  test('status codes and what goes with them', () => {
    assert.equal(returnCode(301, 'location'), 301);
    assert.equal(returnCode(444, 'close'), 444);
    for (const [code, kind] of [[200, 'location'], [204, 'text'], [199, 'empty'], [600, 'empty'], [444, 'empty'], [200, 'close'], [1.5, 'empty']] as const)
      assert.throws(() => returnCode(code, kind), /render: refusing snippet return/, `${code} ${kind}`);
  });

  test('one rule per name, reading the value from the map keyed by route id and name', () => {
    const rules = headerRules(['snippet-header:response-add:x-a', 'snippet-header:response-clear:x-b-*', 'snippet-header:request-set:x-c'], (m) => `/m/${m}`, 'HASID', 'ID', 'response');
    assert.deepEqual(rules, [
      'http-after-response del-header x-b- -m beg if HASID { ID,concat(|x-b-*),map_str(/m/snippetResponseClear) -m found }',
      'http-after-response add-header x-a "%[ID,concat(|x-a),map_str(/m/snippetResponseAdd),url_dec]" if HASID { ID,concat(|x-a),map_str(/m/snippetResponseAdd) -m found } { status 200 201 204 206 301 302 303 304 307 308 }',
    ]);
    assert.throws(() => headerRules(['snippet-header:response-set:x a'], (m) => m, 'H', 'I', 'response'), /refusing header name/);
  });
});

void describe("render's templates", () => {
  test("a route's templates are one map line of slots, percent-encoded; plain values stay in their maps", () => {
    const line = templatesLine({ redirectToHttps: false, headers: { requestSet: { 'x-original-host': '${host}', 'x-plain': 'p' }, responseAdd: { 'x-id': 'id=${request_id};' } }, respond: { code: 301, location: 'https://${host}${request_uri}' } });
    assert.equal(line, 'a_x.id=id%3D%24%7Brequest_id%7D%3B;l301=https://%24%7Bhost%7D%24%7Brequest_uri%7D;q_x.original.host=%24%7Bhost%7D');
    assert.equal(templatesLine({ redirectToHttps: false, headers: { requestSet: { 'x-plain': 'p' } } }), undefined, 'a plain route has no line');
    assert.equal(templatesLine({ redirectToHttps: false, respond: { code: 200, text: '${remote_addr}\n' } }), 'n200=%24%7Bremote_addr%7D');
  });

  test('render re-checks every template: only ${name} of the variables the Lua computes, printable ASCII', () => {
    for (const good of ['${host}', '${http_x_y}', 'a{b}c ${arg_q} ${cookie_s}', '${proxy_add_x_forwarded_for}']) assert.equal(checkTemplate(good), good);
    for (const bad of ['$host', '${hostname}', '${upstream_addr}', 'a$', '${host', '${HOST}', '${http_}', '${host}\n', '${host}\u00e9', 'x'.repeat(4097), `\${http_${'a'.repeat(70)}}`])
      assert.throws(() => checkTemplate(bad), /render: refusing snippet template/, JSON.stringify(bad));
    assert.throws(() => templatesLine({ redirectToHttps: false, respond: { code: 301, location: 'https://${host}/a b' } }), /refusing snippet Location/);
    assert.throws(() => templatesLine({ redirectToHttps: false, headers: { requestSet: { 'x a': '${host}' } } }), /refusing header name/);
  });

  test('a template rule reads its variable, after the plain rules of its kind; a return template reads its code\'s', () => {
    const rules = headerRules(['snippet-header:request-clear:x-a', 'snippet-header:request-set-template:x-original-host', 'snippet-header:request-set:x-b'], (m) => `/m/${m}`, 'HASID', 'ID', 'request');
    assert.deepEqual(rules, [
      'http-request del-header x-a if HASID { ID,concat(|x-a),map_str(/m/snippetRequestClear) -m found }',
      'http-request set-header x-b "%[ID,concat(|x-b),map_str(/m/snippetRequestSet),url_dec]" if HASID { ID,concat(|x-b),map_str(/m/snippetRequestSet) -m found }',
      'http-request del-header x-original-host if { var(txn.sv_q_x.original.host) -m len 0 }',
      'http-request set-header x-original-host "%[var(txn.sv_q_x.original.host)]" if { var(txn.sv_q_x.original.host) -m len 1: }',
    ]);
    assert.deepEqual(headerRules(['snippet-header:response-add-template:x-id'], (m) => m, 'H', 'I', 'response'), [
      'http-after-response add-header x-id "%[var(txn.sv_a_x.id)]" if { var(txn.sv_a_x.id) -m len 1: } { status 200 201 204 206 301 302 303 304 307 308 }',
    ]);
    assert.deepEqual(returnRules(['snippet-return:301:location-template', 'snippet-return:200:text-nl-template'], (m) => m, 'H', 'I'), [
      'http-request return status 301 hdr Location "%[var(txn.sv_l301)]" if { var(txn.sv_l301) -m found }',
      'http-request return status 200 content-type "text/html" lf-string "%[var(txn.sv_n200)]\\n" if { var(txn.sv_n200) -m found }',
    ]);
    for (const bad of ['snippet-return:200:empty-template', 'snippet-return:444:close-template', 'snippet-return:200:location-template'])
      assert.throws(() => returnRules([bad], (m) => m, 'H', 'I'), /render: refusing snippet return/, bad);
  });
});

void describe('runtime plan', () => {
  const ing = (snippetText: string | null, host = 's.test'): string => `
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  annotations: {${snippetText === null ? '' : `nginx.ingress.kubernetes.io/configuration-snippet: ${JSON.stringify(snippetText)}`}}
spec:
  rules:
  - host: ${host}
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
---
${svc('web', ['10.0.0.1'])}`;

  test('a changed value is one map update, not a reload', () => {
    const before = model(ing('add_header X-A "a b" always;'));
    const after = model(ing('add_header X-A "c; d" always;'));
    assert.deepEqual(
      opSummary(ops(reloadedWith(before), after).ops).map((o) => o.replace(/p\.[0-9a-f]{16}/, 'ID')),
      ['map-set maps/snippet-response-add-always.map ID|x-a c%3B%20d'],
    );
  });

  test('a changed template is one map update; a value becoming a template takes a reload (its rule reads a variable)', () => {
    const before = model(ing('proxy_set_header X-Original-Host $host; return 301 https://$host$request_uri;'));
    const after = model(ing('proxy_set_header X-Original-Host "h=$http_host"; return 301 https://$host/new$request_uri;'));
    assert.deepEqual(
      opSummary(ops(reloadedWith(before), after).ops).map((o) => o.replace(/p\.[0-9a-f]{16}/, 'ID')),
      ['map-set maps/snippet-vars.map ID l301=https://%24%7Bhost%7D/new%24%7Brequest_uri%7D;q_x.original.host=h%3D%24%7Bhttp_host%7D'],
    );
    assert.deepEqual(plan(reloadedWith(model(ing('proxy_set_header X-Original-Host plain;'))), model(ing('proxy_set_header X-Original-Host $host;')), DEFAULT_PEM), {
      reload: 'the frontend has no rule for snippetVars yet',
    });
  });

  test('a header name or a return status no route used takes a reload naming it; one already in use does not', () => {
    const base = model(ing('add_header X-A 1; return 410;'));
    assert.deepEqual(plan(reloadedWith(base), model(ing('add_header X-B 1; return 410;')), DEFAULT_PEM), { reload: 'the frontend has no rule for snippet-header:response-add:x-b yet' });
    assert.deepEqual(plan(reloadedWith(base), model(ing('add_header X-A 1; return 404;')), DEFAULT_PEM), { reload: 'the frontend has no rule for snippet-return:404:empty yet' });
    assert.ok(!('reload' in plan(reloadedWith(base), model(ing('add_header X-A 2;') + ing('add_header X-A 3; return 410;', 'other.test').replace('name: web', 'name: other')), DEFAULT_PEM)));
  });
});
