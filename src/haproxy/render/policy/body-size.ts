// Render side of proxy-body-size (src/translate/annotations/body.ts): a route's own body limit is map data keyed by
// its id, read into `txn.body_limit` by the body rules (body-limit.ts) and by the gate's Lua filter, which count
// against it instead of --proxy-body-size.
import { policyFamily } from './family.js';

export const BODY_SIZE_MAPS = { bodySize: 'maps/body-size.map' } as const;
export function bodySizeValue(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes > 2 ** 50) throw new Error(`render: refusing body size ${bytes}`);
  return String(bytes);
}

/** No rules of its own: body-limit.ts's rules read the map while it is in use (render.ts passes them the lookup). */
export const BODY_SIZE_FAMILY = policyFamily({
  maps: BODY_SIZE_MAPS,
  data: (p) => (p.maxBodyBytes === undefined ? [] : [['bodySize', bodySizeValue(p.maxBodyBytes)]]),
});
