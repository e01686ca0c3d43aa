// What the server records for tests to assert on.

export interface RequestRecord {
  time: number;
  method: string;
  path: string;
  query: Record<string, string>;
  /** Kubernetes verb (get, list, watch, create, update, patch, delete, deletecollection), or the lower-case method. */
  verb: string;
  /** `ingresses`, or with the subresource: `ingresses/status` (the form RBAC rules use). */
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  /** Authenticated user name; empty when authentication failed. */
  user: string;
  /** HTTP status sent; 0 while nothing has been sent (or the connection was cut first). */
  status: number;
  userAgent: string;
  /** The Accept header: shows e.g. whether kubectl asked for a Table. */
  accept: string;
}

export interface RbacDenialRecord {
  user: string;
  verb: string;
  apiGroup: string;
  /** As in RequestRecord: `ingresses/status` for a subresource. */
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
  path: string;
  message: string;
}
