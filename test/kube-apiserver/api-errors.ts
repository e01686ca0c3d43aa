// Status bodies built exactly as k8s.io/apimachinery/pkg/api/errors/errors.go builds them, so clients that switch
// on reason/code/details (client-go's apierrors.IsConflict, IsResourceExpired, ...) see what a real server sends.
import type { Status, StatusCause } from 'kubernetes-types/meta/v1.js';
import { qualifiedResource } from './resources.js';

export type StatusBody = Status & { kind: 'Status'; apiVersion: 'v1'; code: number };

export class ApiError extends Error {
  constructor(
    readonly status: StatusBody,
    /** Extra response headers. */
    readonly headers: Record<string, string> = {},
  ) {
    super(status.message);
  }
  get code(): number {
    return this.status.code;
  }
}

interface Details {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** Field order and omitempty as Go's encoding/json writes metav1.Status. */
export function statusBody(code: number, reason: string, message: string, details?: Details, continueToken?: string): StatusBody {
  const d: Details = {};
  if (details) {
    if (details.name) d.name = details.name;
    if (details.group) d.group = details.group;
    if (details.kind) d.kind = details.kind;
    if (details.uid) d.uid = details.uid;
    if (details.causes?.length) d.causes = details.causes;
    if (details.retryAfterSeconds) d.retryAfterSeconds = details.retryAfterSeconds;
  }
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: continueToken ? { continue: continueToken } : {},
    status: 'Failure',
    message,
    ...(reason ? { reason } : {}),
    ...(details ? { details: d } : {}),
    code,
  };
}

function err(code: number, reason: string, message: string, details?: Details): ApiError {
  return new ApiError(statusBody(code, reason, message, details));
}

export function notFound(group: string, resource: string, name: string): ApiError {
  return err(404, 'NotFound', `${qualifiedResource(group, resource)} "${name}" not found`, { name, group, kind: resource });
}

/** What the router answers for a path it does not serve (NewGenericServerResponse(404, ...)). */
export function pathNotFound(): ApiError {
  return err(404, 'NotFound', 'the server could not find the requested resource', {});
}

export function alreadyExists(group: string, resource: string, name: string): ApiError {
  return err(409, 'AlreadyExists', `${qualifiedResource(group, resource)} "${name}" already exists`, { name, group, kind: resource });
}

/** The optimistic-concurrency message of the generic registry (registry/generic/registry/store.go OptimisticLockErrorMsg). */
export const OPTIMISTIC_LOCK = 'the object has been modified; please apply your changes to the latest version and try again';

export function conflict(group: string, resource: string, name: string, why = OPTIMISTIC_LOCK): ApiError {
  return err(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(group, resource)} "${name}": ${why}`, { name, group, kind: resource });
}

export function forbidden(group: string, resource: string, name: string, why: string): ApiError {
  const qr = qualifiedResource(group, resource);
  const message = !resource ? `forbidden: ${why}` : name ? `${qr} "${name}" is forbidden: ${why}` : `${qr} is forbidden: ${why}`;
  return err(403, 'Forbidden', message, { name, group, kind: resource });
}

/** authentication/request/... failures: the handler answers NewUnauthorized("Unauthorized"). */
export function unauthorized(): ApiError {
  return err(401, 'Unauthorized', 'Unauthorized');
}

export function badRequest(message: string): ApiError {
  return err(400, 'BadRequest', message);
}

export interface FieldError {
  field: string;
  type: 'Required' | 'Invalid' | 'Forbidden' | 'Unsupported' | 'TooLong';
  detail: string;
  value?: unknown;
}

const CAUSE: Record<FieldError['type'], [string, string]> = {
  Required: ['FieldValueRequired', 'Required value'],
  Invalid: ['FieldValueInvalid', 'Invalid value'],
  Forbidden: ['FieldValueForbidden', 'Forbidden'],
  Unsupported: ['FieldValueNotSupported', 'Unsupported value'],
  TooLong: ['FieldValueTooLong', 'Too long'],
};

/** field.Error.ErrorBody(): `Invalid value: "x": detail`, `Required value: detail`. */
function errorBody(e: FieldError): string {
  const label = CAUSE[e.type][1];
  const showValue = e.type === 'Invalid' || e.type === 'Unsupported';
  return `${label}: ${showValue ? `${JSON.stringify(e.value ?? '')}: ` : ''}${e.detail}`;
}

/** 422: `Ingress.networking.k8s.io "x" is invalid: spec...: Required value: ...` (NewInvalid, errs.ToAggregate()). */
export function invalid(group: string, kind: string, name: string, errs: FieldError[]): ApiError {
  const gk = group ? `${kind}.${group}` : kind;
  const msgs = errs.map((e) => `${e.field}: ${errorBody(e)}`);
  const aggregate = msgs.length === 1 ? msgs[0] ?? '' : `[${msgs.join(', ')}]`;
  return err(422, 'Invalid', `${gk} "${name}" is invalid: ${aggregate}`, {
    name,
    group,
    kind,
    causes: errs.map((e) => ({ reason: CAUSE[e.type][0], message: errorBody(e), field: e.field })),
  });
}

/** 410 with reason Expired (NewResourceExpired); the continue variant carries a fresh, inconsistent token. */
export function expired(message: string, continueToken?: string): ApiError {
  return new ApiError(statusBody(410, 'Expired', message, undefined, continueToken));
}

export function internalError(message: string): ApiError {
  return err(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ message }] });
}

export function tooManyRequests(message: string, retryAfterSeconds: number): ApiError {
  return err(429, 'TooManyRequests', message, { retryAfterSeconds });
}

export function serviceUnavailable(message: string): ApiError {
  return err(503, 'ServiceUnavailable', message);
}

/** storage.NewTooLargeResourceVersionError: a 504 the client should retry after a second. */
export function tooLargeResourceVersion(requested: number, current: number): ApiError {
  return err(504, 'Timeout', `Timeout: Too large resource version: ${requested}, current: ${current}`, {
    causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
    retryAfterSeconds: 1,
  });
}

export function methodNotSupported(group: string, resource: string, action: string): ApiError {
  return err(405, 'MethodNotAllowed', `${action} is not supported on resources of kind "${qualifiedResource(group, resource)}"`, { group, kind: resource });
}

export function notAcceptable(accepted: string[]): ApiError {
  return err(406, 'NotAcceptable', `only the following media types are accepted: ${accepted.join(', ')}`);
}

export function unsupportedMediaType(contentType: string, accepted: string[]): ApiError {
  return err(415, 'UnsupportedMediaType', `the body of the request was in an unknown format (${contentType}) - accepted media types include: ${accepted.join(', ')}`);
}
