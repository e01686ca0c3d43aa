// Render side of the redirect annotations (`permanent-redirect`, `temporal-redirect`; src/translate/annotations/
// redirects.ts): a route with a redirect answers every request itself. The URL is map data keyed by the route's id,
// so a changed URL is one `set map`; the frontend has one rule per status code in use, and none at all while no
// route redirects, so a plain route pays nothing for the feature.
import type { RedirectCode } from '../../../model/types.js';
import { policyFamily } from './family.js';

export const REDIRECT_CODES: readonly RedirectCode[] = [300, 301, 302, 303, 304, 305, 306, 307, 308];

/** One map per status code: the URL of each route that answers with it. */
export const REDIRECT_MAPS = Object.fromEntries(REDIRECT_CODES.map((c) => [`redirect${c}`, `maps/redirect-${c}.map`])) as Record<`redirect${RedirectCode}`, string>;

/** The status codes whose rule the configuration has, given the features (feature maps) in use, in order. */
export function redirectCodesIn(features: ReadonlySet<string>): RedirectCode[] {
  return REDIRECT_CODES.filter((c) => features.has(`redirect${c}`));
}

/**
 * The frontend rules: after routing, before rule T9's HTTPS redirect (ingress-nginx's `return` runs in nginx's
 * rewrite phase, ahead of its Lua HTTPS redirect and of every access check). `routeId` reads the route's id from the
 * routing map's value; `hasId` is the cheap test that the value holds one at all.
 */
export function redirectRules(codes: readonly RedirectCode[], file: (map: `redirect${RedirectCode}`) => string, hasId: string, routeId: string): string[] {
  return codes.map((code) => {
    const url = `${routeId},map_str(${file(`redirect${code}`)})`;
    return `http-request return status ${code} hdr Location %[${url}] if ${hasId} { ${url} -m found }`;
  });
}

const REDIRECT_URL = /^https?:\/\/[-._~A-Za-z0-9/:?&=]{1,2040}$/;

/** Render's own check of a redirect URL (translate's grammar is the same): a map word that needs no escaping. */
export function assertRedirectUrl(url: string): string {
  if (!REDIRECT_URL.test(url)) throw new Error(`render: refusing redirect URL ${JSON.stringify(url)}`);
  return url;
}

export function assertRedirectCode(code: number): RedirectCode {
  if (!(REDIRECT_CODES as readonly number[]).includes(code)) throw new Error(`render: refusing redirect code ${code}`);
  return code as RedirectCode;
}

export const REDIRECT_FAMILY = policyFamily({
  maps: REDIRECT_MAPS,
  data: (p) => (p.redirect ? [[`redirect${assertRedirectCode(p.redirect.code)}`, assertRedirectUrl(p.redirect.url)]] : []),
  rules: {
    answer: (c) => {
      const codes = redirectCodesIn(c.inUse);
      if (codes.length === 0) return [];
      return ['# The redirect annotations (permanent-redirect, temporal-redirect): before rule T9, as in ingress-nginx.', ...redirectRules(codes, c.file, c.hasId, c.routeId)];
    },
  },
});
