// use-gzip: the compression lines of the listeners' frontends. Written only while the settings ConfigMap turns
// compression on, so a configuration without it holds no compression line and a plain request runs no filter.
import type { GlobalSettings } from '../../model/types.js';

/** ingress-nginx's gzip_types (config.go), with text/html, which nginx compresses whatever the list says. */
export const INGRESS_NGINX_GZIP_TYPES: readonly string[] = [
  'application/atom+xml',
  'application/javascript',
  'application/json',
  'application/rss+xml',
  'application/vnd.ms-fontobject',
  'application/x-font-ttf',
  'application/x-javascript',
  'application/x-web-app-manifest+json',
  'application/xhtml+xml',
  'application/xml',
  'font/opentype',
  'image/svg+xml',
  'image/x-icon',
  'text/css',
  'text/html',
  'text/javascript',
  'text/plain',
  'text/x-component',
];

/** What settings/compression.ts's grammar accepts, checked again: a type is a word of a configuration line. */
const MIME_TYPE = /^[a-z0-9][a-z0-9._+-]{0,63}\/[a-z0-9][a-z0-9._+-]{0,63}$/;

/** The lines a frontend gets for `use-gzip` (none when it is off). */
export function compressionLines(g: GlobalSettings | undefined): string[] {
  if (g?.gzip !== true) return [];
  const types = g.gzipTypes ?? INGRESS_NGINX_GZIP_TYPES;
  if (types !== 'any') {
    if (types.length === 0 || types.length > 64) throw new Error(`render: refusing ${types.length} compression types`);
    for (const t of types) if (!MIME_TYPE.test(t)) throw new Error(`render: refusing compression type ${JSON.stringify(t)}`);
  }
  return [
    "# use-gzip: responses of these types are gzip-compressed for clients that accept it (HAProxy adds Vary, weakens ETag).",
    'compression algo gzip',
    ...(types === 'any' ? [] : [`compression type ${types.join(' ')}`]),
  ];
}
