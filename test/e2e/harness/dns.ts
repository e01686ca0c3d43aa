// A DNS server for ExternalName tests: answers A queries from a table the test changes at will (TTL 1 s), NXDOMAIN
// for names it does not know, and an empty answer for other record types. Plain RFC 1035 over UDP, enough for
// HAProxy's resolvers and for a stub resolver.
import { createSocket } from 'node:dgram';
import type { RemoteInfo } from 'node:dgram';

export interface DnsServer {
  /** `ip:port`, as --resolvers takes it. */
  address: string;
  /** Sets (or, with undefined, removes) the IPv4 addresses a name resolves to. */
  set(name: string, ips: string[] | undefined): void;
  /** Queries answered so far for `name`. */
  queries(name: string): number;
  close(): Promise<void>;
}

export async function startDns(ip: string, port: number): Promise<DnsServer> {
  const records = new Map<string, string[]>();
  const asked = new Map<string, number>();
  const sock = createSocket('udp4');
  sock.on('message', (msg: Buffer, from: RemoteInfo) => {
    const q = parseQuestion(msg);
    if (!q) return;
    asked.set(q.name, (asked.get(q.name) ?? 0) + 1);
    const ips = records.get(q.name);
    const answers = q.type === 1 && ips ? ips : [];
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2); // id
    // QR, opcode 0, RD copied, RA; RCODE 3 (NXDOMAIN) for unknown names.
    header.writeUInt16BE(0x8180 | (msg.readUInt16BE(2) & 0x0100) | (ips ? 0 : 3), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const rr = answers.map((a) => {
      const b = Buffer.alloc(16);
      b.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
      b.writeUInt16BE(1, 2); // A
      b.writeUInt16BE(1, 4); // IN
      b.writeUInt32BE(1, 6); // TTL
      b.writeUInt16BE(4, 10);
      a.split('.').forEach((o, i) => b.writeUInt8(Number(o), 12 + i));
      return b;
    });
    sock.send(Buffer.concat([header, q.raw, ...rr]), from.port, from.address);
  });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, ip, () => resolve());
  });
  return {
    address: `${ip}:${port}`,
    set: (name, ips) => (ips ? records.set(name.toLowerCase(), ips) : records.delete(name.toLowerCase())),
    queries: (name) => asked.get(name.toLowerCase()) ?? 0,
    close: () => new Promise((resolve) => sock.close(() => resolve())),
  };
}

/** The first question of a query: its name (lowercase, no trailing dot), type, and raw bytes (name, type, class). */
function parseQuestion(msg: Buffer): { name: string; type: number; raw: Buffer } | undefined {
  if (msg.length < 17 || msg.readUInt16BE(4) < 1) return undefined;
  const labels: string[] = [];
  let i = 12;
  while (i < msg.length && msg[i] !== 0) {
    const len = msg[i]!;
    if (len > 63 || i + 1 + len > msg.length) return undefined;
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('latin1'));
    i += 1 + len;
  }
  if (i + 5 > msg.length) return undefined;
  return { name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(i + 1), raw: msg.subarray(12, i + 5) };
}
