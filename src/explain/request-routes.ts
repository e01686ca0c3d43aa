// The route of each logged request, for the access log's Ingress fields and the traffic metrics' labels: lookupRoute
// against the model HAProxy serves now, remembered per model for the Host and path pairs seen. Clients choose those
// pairs, so the memory is bounded: past its size it starts again, and a flood of distinct paths costs a lookup each
// (microseconds), never memory.
import type { RoutingModel } from '../model/types.js';
import { lookupRoute } from './lookup.js';
import type { RouteLookup } from './lookup.js';

const MAX_REMEMBERED = 10_000;

export class RequestRoutes {
  private model: RoutingModel | undefined;
  private readonly seen = new Map<string, RouteLookup | undefined>();

  /** `live`: the model HAProxy serves now (undefined before the first one). */
  constructor(private readonly live: () => RoutingModel | undefined) {}

  resolve(host: string, path: string): RouteLookup | undefined {
    const model = this.live();
    if (!model) return undefined;
    if (model !== this.model) {
      this.model = model;
      this.seen.clear();
    }
    const key = `${host}\n${path}`;
    if (this.seen.has(key)) return this.seen.get(key);
    const found = lookupRoute(model, host, path);
    if (this.seen.size >= MAX_REMEMBERED) this.seen.clear();
    this.seen.set(key, found);
    return found;
  }
}
