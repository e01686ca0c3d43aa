// Server ids for the sections that balance on a consistent hash (cookie affinity, upstream-hash-by). HAProxy places a
// server on the hash ring by its numeric id. Left to HAProxy, ids have two faults. First, `add server` hashes the
// server onto the ring before its automatic id is set (HAProxy issue #3413; Debian's 2.6.12 has it), so every server
// added at runtime shares one set of positions and only one of them gets new keys: after a few pods come and go,
// pods listed in the section never get a new client. Second, an automatic id is the server's rank in its section,
// so a reload after pods changed moves most keys, where ingress-nginx's ring is keyed by the pod's address.
// So each server's id is a hash of its name, which is made of its address and port (endpoints.ts serverName): stable
// across reloads and the same whether the configuration or `add server` brings the server.
import type { BackendPolicy, Server } from '../../model/types.js';

/**
 * The largest id handed out. HAProxy takes up to 2^31 - 1, but places server `id`'s points on the ring at
 * `hash(id * 4096 + n)` in 32-bit arithmetic (lb_chash.c), so only `id mod 2^20` tells two servers apart: ids
 * that differ by a multiple of 2^20 would share every point. Below 2^20, distinct ids are distinct points.
 */
export const MAX_SERVER_ID = 0xfffff;

/** Whether a section with this policy balances on a consistent hash (render.ts sectionText and balanceLines). */
export function balancesOnHash(policy: BackendPolicy | undefined): boolean {
  return policy?.affinity === true || policy?.balance?.algorithm === 'hash';
}

/** FNV-1a over the name's bytes (server names are ASCII tokens), folded into 1 .. MAX_SERVER_ID. */
export function serverId(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h % MAX_SERVER_ID) + 1;
}

/**
 * The ids of one section's servers for the configuration: each its name's hash, unless another server of the section
 * (earlier by name) already has it, then the next free one. HAProxy refuses two servers with one id. At runtime a
 * server takes its name's hash alone; on the rare clash HAProxy refuses the `add server`, and the reload that follows
 * comes back here.
 */
export function serverIds(servers: readonly Server[]): Map<string, number> {
  const ids = new Map<string, number>();
  const used = new Set<number>();
  for (const name of servers.map((s) => s.name).sort()) {
    let id = serverId(name);
    while (used.has(id)) id = (id % MAX_SERVER_ID) + 1;
    used.add(id);
    ids.set(name, id);
  }
  return ids;
}
