// Every annotation family Portico reads, in one list: parsing, `portico check` and docs/annotations.md all go
// through it.
import type { Findings } from '../diagnostics.js';
import { parseAnnotations } from './registry.js';
import type { Annotation, AnnotationValues } from './registry.js';
import { REDIRECT_ANNOTATIONS } from './redirects.js';

export const ANNOTATIONS: readonly Annotation[] = [...REDIRECT_ANNOTATIONS];

/** An Ingress's annotations as typed values; findings for invalid values and for keys Portico does not read. */
export function parseIngressAnnotations(annotations: Record<string, string>, f: Findings): AnnotationValues {
  return parseAnnotations(annotations, ANNOTATIONS, f);
}
