// The explain module's interface: explainRequest for a whole answer, and the route index for the per-request lookup
// other parts need (the access log's Ingress and route fields).
export { explainRequest, backendExplanation, rewritePath } from './explain.js';
export type { Explanation, ExplainInput, ExplainOptions, PolicyStep, Step, BackendExplanation, Candidate, CertificateChoice, Outcome } from './explain.js';
export { requestFromUrl, normaliseHost, requestPath, RequestError } from './request.js';
export type { ExplainRequest } from './request.js';
export { routeIndexOf, matchRoute, hostGroupOf, pathRouteOf } from './route-index.js';
export type { RouteIndex, RouteMatch, IndexedRoute, RouteKind } from './route-index.js';
export { lookupRoute } from './lookup.js';
export type { RouteLookup } from './lookup.js';
export { explainText, explainJson } from './format.js';
