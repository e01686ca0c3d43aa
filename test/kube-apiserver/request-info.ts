// Turns a request into the attributes authorization and routing use, as
// staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go (RequestInfoFactory.NewRequestInfo) does,
// including its quirks: the namespace object's own path carries that namespace, a list or watch whose field
// selector pins metadata.name has that name, and DELETE of a collection is deletecollection.
import { exactFieldValue } from './selectors.js';

export interface RequestInfo {
  isResourceRequest: boolean;
  path: string;
  verb: string;
  apiPrefix: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
  /** The path segments after group/version (and after namespaces/NS), e.g. [ingresses, web, status]. */
  parts: string[];
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const NAMESPACE_SUBRESOURCES = new Set(['status', 'finalize']);

export function requestInfo(method: string, path: string, query: URLSearchParams): RequestInfo {
  const nonResource: RequestInfo = {
    isResourceRequest: false,
    path,
    verb: method.toLowerCase(),
    apiPrefix: '',
    apiGroup: '',
    apiVersion: '',
    namespace: '',
    resource: '',
    subresource: '',
    name: '',
    parts: [],
  };
  let segs = path.replace(/^\/+|\/+$/g, '').split('/');
  const prefix = segs[0];
  if (prefix !== 'api' && prefix !== 'apis') return nonResource;
  segs = segs.slice(1);
  let group = '';
  if (prefix === 'apis') {
    if (segs.length < 3) return { ...nonResource, apiPrefix: prefix };
    group = segs[0] ?? '';
    segs = segs.slice(1);
  } else if (segs.length < 2) return { ...nonResource, apiPrefix: prefix };
  const version = segs[0] ?? '';
  let parts = segs.slice(1).map(safeDecode);

  let verb: string;
  switch (method) {
    case 'POST':
      verb = 'create';
      break;
    case 'GET':
    case 'HEAD':
      verb = 'get';
      break;
    case 'PUT':
      verb = 'update';
      break;
    case 'PATCH':
      verb = 'patch';
      break;
    case 'DELETE':
      verb = 'delete';
      break;
    default:
      verb = '';
  }
  // The deprecated /watch/ path prefix.
  if (parts[0] === 'watch') {
    verb = 'watch';
    parts = parts.slice(1);
  }

  let namespace = '';
  if (parts[0] === 'namespaces' && parts.length > 1) {
    namespace = parts[1] ?? '';
    if (parts.length > 2 && !NAMESPACE_SUBRESOURCES.has(parts[2] ?? '')) parts = parts.slice(2);
  }

  const info: RequestInfo = {
    isResourceRequest: true,
    path,
    verb,
    apiPrefix: prefix,
    apiGroup: group,
    apiVersion: version,
    namespace,
    resource: parts[0] ?? '',
    subresource: parts.length >= 3 ? parts[2] ?? '' : '',
    name: parts.length >= 2 ? parts[1] ?? '' : '',
    parts,
  };

  if (info.name === '' && info.verb === 'get') {
    const w = query.get('watch');
    info.verb = w === 'true' || w === '1' ? 'watch' : 'list';
  }
  if (info.name === '' && (info.verb === 'list' || info.verb === 'watch')) {
    const pinned = exactFieldValue(query.get('fieldSelector') ?? '', 'metadata.name');
    if (pinned !== undefined) info.name = pinned;
  }
  if (info.name === '' && info.verb === 'delete') info.verb = 'deletecollection';
  return info;
}
