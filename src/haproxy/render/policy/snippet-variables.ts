// nginx variables in the snippet annotations' values (`return 301 https://$host$request_uri`, `proxy_set_header
// X-Original-Host $host`). A value holding a variable is a template (translate writes each variable as `${name}`);
// its route's templates are one line of map data (`snippet-vars.map`, route id -> `<slot>=<template>;...`, each
// template percent-encoded), never configuration text, so a changed template is a map update. A Lua action in the
// answer phase (before the CORS preflight and the snippet's `return`, which may read them) expands them all from the
// client's request, with the variable code external authentication uses (nginx-variables.ts), into one variable per
// slot, `txn.sv_<slot>`; the header and return rules of policy/snippets.ts read those. A slot is the header edit's
// kind and name (`q_x.original.host`: request set, `-` written `.` since variable names take no `-`) or the return's
// kind and code (`l301`: a Location). None of this exists while no route has a template: a plain route pays nothing.
//
// Injection: an expanded value never carries a control character into a header or a body (each is written `%XX`:
// `$http_x` holds what HAProxy accepted in a header value, `$uri` is decoded), and a Location gets every byte outside
// printable ASCII and space written `%XX` too. `$host` and `$http_host` are a plain host name or IPv6 literal, or the
// request gets 400 (as nginx answers a Host it cannot use); an expansion longer than MAX_EXPANDED bytes gets 400 too.
import type { HeaderEdits, RoutePolicy, SnippetReturn } from '../../../model/types.js';
import { policyFamily } from './family.js';
import { NGINX_VARIABLES_LUA, LUA_VARIABLES } from './nginx-variables.js';

export const SNIPPET_VARS_MAPS = { snippetVars: 'maps/snippet-vars.map' } as const;
export const SNIPPET_VARS_LUA = 'lua/snippet-vars.lua';
/** The longest expanded value, in bytes: a header or Location past it is no longer one a backend or browser takes. */
export const MAX_EXPANDED = 8192;
/** The longest line of a route's templates (a map value is at most 4,096 characters; translate keeps far below). */
const MAX_LINE = 4096;

/** A value holding an nginx variable: translate lets no other `$` into a value. */
export const isTemplate = (v: string): boolean => v.includes('$');

// Render's own check of a template: printable ASCII, and every `$` the start of `${name}` of a variable the Lua
// computes. Names of the open families are held to what a header, cookie or argument name can be.
const OPEN = /^(http|cookie|arg)_[a-z0-9_]{1,64}$/;
const KNOWN: ReadonlySet<string> = new Set(LUA_VARIABLES);
export function checkTemplate(t: string, body = false): string {
  const rest = t.replace(/\$\{([a-z0-9_]{1,80})\}/g, (_, n: string) => (KNOWN.has(n) || OPEN.test(n) ? '' : '$'));
  if (t.length > 4096 || rest.includes('$') || (body ? /[^\x20-\x7e\t]/ : /[^\x20-\x7e]/).test(rest)) throw new Error(`render: refusing snippet template ${JSON.stringify(t.slice(0, 80))}`);
  return t;
}

/** The header edit kinds whose values may be templates, with their slot letter. */
export const TEMPLATE_KINDS = { 'request-set': 'q', 'response-set': 's', 'response-add': 'a', 'response-add-always': 'w' } as const;
export type TemplateKind = keyof typeof TEMPLATE_KINDS;
const FIELDS: Record<TemplateKind, keyof HeaderEdits> = { 'request-set': 'requestSet', 'response-set': 'responseSet', 'response-add': 'responseAdd', 'response-add-always': 'responseAddAlways' };

/** The slot of a header edit's template: its kind's letter and its (checked) lowercase name, `-` written `.`. */
export function headerSlot(kind: TemplateKind, name: string): string {
  if (!/^[a-z0-9][a-z0-9_-]{0,127}$/.test(name)) throw new Error(`render: refusing header name ${JSON.stringify(name)}`);
  return `${TEMPLATE_KINDS[kind]}_${name.replace(/-/g, '.')}`;
}

/** The slot of a return's template: `l` a Location, `t` a text, `n` a text the rule ends with a line break. */
export function returnSlot(kind: 'location' | 'text' | 'text-nl', code: number): string {
  if (!Number.isInteger(code) || code < 200 || code > 599) throw new Error(`render: refusing snippet return ${code}`);
  return `${kind === 'location' ? 'l' : kind === 'text' ? 't' : 'n'}${code}`;
}

/** The HAProxy variable a slot's expansion lands in. */
export const slotVar = (slot: string): string => {
  if (!/^[a-z][a-z0-9_.]{0,130}$/.test(slot)) throw new Error(`render: refusing snippet slot ${JSON.stringify(slot)}`);
  return `txn.sv_${slot}`;
};

/** Every byte outside letters, digits and `- . _ ~ / :` percent-encoded: `;` and `=` (the line's separators) too. */
const encode = (v: string): string => v.replace(/[^-._~A-Za-z0-9/:]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);

/** A route's templates as [slot, template], in slot order. */
export function templatesOf(headers: HeaderEdits | undefined, respond: SnippetReturn | undefined): [slot: string, template: string][] {
  const out: [string, string][] = [];
  for (const kind of Object.keys(TEMPLATE_KINDS) as TemplateKind[]) {
    for (const [name, v] of Object.entries((headers?.[FIELDS[kind]] as Record<string, string> | undefined) ?? {})) if (isTemplate(v)) out.push([headerSlot(kind, name), checkTemplate(v)]);
  }
  if (respond?.location !== undefined && isTemplate(respond.location)) {
    if (/\s/.test(respond.location)) throw new Error(`render: refusing snippet Location ${JSON.stringify(respond.location)}`);
    out.push([returnSlot('location', respond.code), checkTemplate(respond.location)]);
  }
  if (respond?.text !== undefined && isTemplate(respond.text)) {
    const nl = respond.text.endsWith('\n');
    out.push([returnSlot(nl ? 'text-nl' : 'text', respond.code), checkTemplate(nl ? respond.text.slice(0, -1) : respond.text, true)]);
  }
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A route's line in snippet-vars.map, or nothing when none of its values is a template. */
export function templatesLine(p: RoutePolicy): string | undefined {
  const t = templatesOf(p.headers, p.respond);
  if (t.length === 0) return undefined;
  const line = t.map(([slot, template]) => `${slot}=${encode(template)}`).join(';');
  if (line.length > MAX_LINE) throw new Error(`render: refusing snippet templates of ${line.length} characters`);
  return line;
}

const LUA = `local MAX_EXPANDED = ${MAX_EXPANDED}

${NGINX_VARIABLES_LUA}
local function percent(c) return string.format('%%%02X', string.byte(c)) end

-- A header value or body keeps printable text, tabs and bytes past ASCII (obs-text, UTF-8), never a control
-- character; a Location keeps printable ASCII only.
local function neutral(v, location)
  if location then
    if string.find(v, '[^\\33-\\126]') then return (string.gsub(v, '[^\\33-\\126]', percent)) end
  elseif string.find(v, '[\\0-\\8\\10-\\31\\127]') then
    return (string.gsub(v, '[\\0-\\8\\10-\\31\\127]', percent))
  end
  return v
end

-- A route's line parsed once, not per request: each slot's variable name, whether it is a Location, and its template
-- as literal strings and variable names ({ name }). Lines are route data, so the cache is bounded by the routes; it
-- starts over past 1,000 lines (old lines of changed templates).
local compiled, ncompiled = {}, 0
local function compile(line)
  local slots = {}
  for slot, template in string.gmatch(line .. ';', '([%w_%.]+)=([^;]*);') do
    local t = unescape(template)
    local parts, at = {}, 1
    for s, name, e in string.gmatch(t, '()%\${([%w_]+)}()') do
      if s > at then parts[#parts + 1] = string.sub(t, at, s - 1) end
      parts[#parts + 1] = { name }
      at = e
    end
    if at <= #t then parts[#parts + 1] = string.sub(t, at) end
    slots[#slots + 1] = { var = 'txn.sv_' .. slot, location = string.sub(slot, 1, 1) == 'l', parts = parts }
  end
  if ncompiled >= 1000 then compiled, ncompiled = {}, 0 end
  compiled[line], ncompiled = slots, ncompiled + 1
  return slots
end

core.register_action('portico_snippet_vars', { 'http-req' }, function(txn, scheme)
  local line = txn:get_var('txn.snippet_vars')
  if line == nil then return end
  local slots = compiled[line] or compile(line)
  local ctx = context(txn, scheme, nil)
  for _, slot in ipairs(slots) do
    local out = {}
    for i, part in ipairs(slot.parts) do
      if type(part) == 'table' then
        local v = variable(ctx, part[1])
        if v == nil then txn:set_var('txn.snippet_vars_failed', true); return end
        out[i] = v
      else
        out[i] = part
      end
    end
    local v = table.concat(out)
    if #v > MAX_EXPANDED then txn:set_var('txn.snippet_vars_failed', true); return end
    txn:set_var(slot.var, neutral(v, slot.location))
  end
end, 1)
`;

export const SNIPPET_VARS_FAMILY = policyFamily({
  maps: SNIPPET_VARS_MAPS,
  lua: { file: SNIPPET_VARS_LUA, text: LUA },
  data: (p) => {
    const line = templatesLine(p);
    return line === undefined ? [] : [['snippetVars', line]];
  },
  rules: {
    answer: (c) => [
      "# Snippet annotations: the route's values with nginx variables, expanded from the client's request into variables",
      '# the return and header rules read (a Host that is no host name, or a value too long, gets 400 as in nginx).',
      `http-request set-var(txn.snippet_vars) ${c.routeId},map_str(${c.file('snippetVars')}) if ${c.hasId}`,
      `http-request lua.portico_snippet_vars ${c.tls ? 'https' : 'http'} if { var(txn.snippet_vars) -m found }`,
      'http-request return status 400 content-type "text/plain; charset=utf-8" string "400 Bad Request: the Host header is not a host name, or a header is too long\\n" if { var(txn.snippet_vars_failed) -m bool }',
    ],
  },
});
