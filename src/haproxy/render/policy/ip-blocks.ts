// IP address blocks as numbers, for the access lists' map: parsing a CIDR block into its first and last address,
// the canonical text HAProxy's map keys carry, and which blocks lie inside others.
import { isIP } from 'node:net';

export interface IpBlock {
  v6: boolean;
  first: bigint;
  last: bigint;
  /** Canonical text: the network address (host bits cleared) and the prefix length, IPv6 as RFC 5952 writes it. */
  text: string;
}

function ipv4Value(a: string): bigint {
  return a.split('.').reduce((n, octet) => (n << 8n) | BigInt(Number(octet)), 0n);
}

function ipv6Value(a: string): bigint {
  // An IPv4 tail (`::ffff:1.2.3.4`) is two groups.
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  let text = a;
  if (tail) {
    const v = ipv4Value(tail[1]!);
    text = `${a.slice(0, -tail[1]!.length)}${(v >> 16n).toString(16)}:${(v & 0xffffn).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = rest === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function formatIpv6(v: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(16 * (7 - i))) & 0xffffn));
  // RFC 5952: the longest run of two or more zero groups (the first of equals) becomes `::`.
  let best = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [best, bestLength] = [i, j - i];
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLength).join(':')}`;
}

// The same blocks come back at every change (a list shared by many Ingresses): parsed once each, up to a bound.
const parsed = new Map<string, Readonly<IpBlock>>();

/** A CIDR block (`address/bits`) as numbers; throws on anything else (render's own check: it fails closed). */
export function ipBlock(cidr: string): Readonly<IpBlock> {
  const known = parsed.get(cidr);
  if (known) return known;
  const b = Object.freeze(parseBlock(cidr));
  if (parsed.size >= 100_000) parsed.clear();
  parsed.set(cidr, b);
  return b;
}

function parseBlock(cidr: string): IpBlock {
  const m = /^([0-9A-Fa-f:.]{2,45})\/(\d{1,3})$/.exec(cidr);
  const family = m ? isIP(m[1]!) : 0;
  const size = family === 6 ? 128 : 32;
  const bits = m ? Number(m[2]) : -1;
  if (!m || family === 0 || bits > size) throw new Error(`render: refusing address block ${JSON.stringify(cidr)}`);
  const v6 = family === 6;
  const hostBits = BigInt(size - bits);
  const value = v6 ? ipv6Value(m[1]!) : ipv4Value(m[1]!);
  const first = (value >> hostBits) << hostBits;
  const last = first | ((1n << hostBits) - 1n);
  const address = v6 ? formatIpv6(first) : [24n, 16n, 8n, 0n].map((s) => String((first >> s) & 0xffn)).join('.');
  return { v6, first, last, text: `${address}/${bits}` };
}

/** Each block once, canonical, in `byPosition` order. */
export function uniqueBlocks(texts: Iterable<string>): IpBlock[] {
  const seen = new Map<string, IpBlock>();
  for (const t of texts) {
    const b = ipBlock(t);
    seen.set(b.text, b);
  }
  return [...seen.values()].sort(byPosition);
}

/** Blocks in the order that puts every block before those inside it: IPv4 first, then by first address, wider first. */
export function byPosition(a: IpBlock, b: IpBlock): number {
  if (a.v6 !== b.v6) return a.v6 ? 1 : -1;
  if (a.first !== b.first) return a.first < b.first ? -1 : 1;
  return a.last === b.last ? 0 : a.last > b.last ? -1 : 1;
}

/**
 * The blocks of `sorted` (sorted by `byPosition`, no two alike) that lie inside `outer`, itself included. Two CIDR
 * blocks are either nested or apart, so those are exactly the blocks of the same family that start within it: one
 * contiguous run, found by binary search.
 */
export function blocksInside(sorted: readonly IpBlock[], outer: IpBlock): IpBlock[] {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (byPosition(sorted[mid]!, outer) < 0) lo = mid + 1;
    else hi = mid;
  }
  const out: IpBlock[] = [];
  for (let i = lo; i < sorted.length; i++) {
    const b = sorted[i]!;
    if (b.v6 !== outer.v6 || b.first > outer.last) break;
    out.push(b);
  }
  return out;
}
