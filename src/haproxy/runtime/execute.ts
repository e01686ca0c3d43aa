// Carries out a plan's operations on HAProxy's runtime API. Any answer other than the expected one throws: the
// caller then reloads with a freshly rendered configuration, which is always correct, just slower.
import type { Op } from './plan.js';
import { cliArg } from '../process/runtime-cli.js';
import type { RuntimeCli } from '../process/runtime-cli.js';
import { RUNTIME_SERVER_OPTIONS, serverArgs } from '../render/render.js';

/** Servers taken out of rotation whose deletion waits for their last connection to finish: `section/server`. */
export type PendingDeletes = Set<string>;

function expect(out: string, ok: RegExp, what: string): void {
  if (!ok.test(out.trim())) throw new Error(`${what}: ${out.trim() || '(no answer)'}`);
}

/** A certificate payload must fit HAProxy's CLI buffer and may not contain the empty line that ends a payload. */
function pemPayload(pem: string, file: string): string {
  const body = pem.replace(/\r/g, '').replace(/\n+$/, '');
  if (/\n\s*\n/.test(body)) throw new Error(`certificate ${file}: PEM with an empty line cannot be sent to the runtime API`);
  if (body.length > 15_000) throw new Error(`certificate ${file}: ${body.length} bytes is more than the runtime API takes in one payload`);
  return body;
}

export async function execute(cli: RuntimeCli, ops: Op[], pending: PendingDeletes, replaceMap: (file: string, content: string) => Promise<void>): Promise<void> {
  for (const o of ops) {
    switch (o.op) {
      case 'add-server': {
        const id = `${o.section}/${o.server.name}`;
        if (pending.delete(id)) {
          // Still there in maintenance, waiting for its connections: same name means same address, port and
          // protocol (endpoints.ts serverName), so the same server options.
          expect(await cli.command(`set server ${id} state ready`), /^$/, `set server ${id} state ready`);
          break;
        }
        expect(await cli.command(`add server ${o.section}/${serverArgs(o.server, o.policy, o.dir, o.id)}${RUNTIME_SERVER_OPTIONS}`), /^New server registered\.$/, `add server ${id}`);
        expect(await cli.command(`set server ${id} state ready`), /^$/, `set server ${id} state ready`);
        break;
      }
      case 'del-server': {
        const id = `${o.section}/${o.server}`;
        // Maintenance first: no new request goes to it, requests in flight finish.
        expect(await cli.command(`set server ${id} state maint`), /^$/, `set server ${id} state maint`);
        await deleteServer(cli, id, pending);
        break;
      }
      case 'map-add':
        expect(await cli.command(`add map ${o.file} ${cliArg(o.key)} ${cliArg(o.value)}`), /^$/, `add map ${o.file} ${o.key}`);
        break;
      case 'map-set':
        expect(await cli.command(`set map ${o.file} ${cliArg(o.key)} ${cliArg(o.value)}`), /^$/, `set map ${o.file} ${o.key}`);
        break;
      case 'map-del':
        expect(await cli.command(`del map ${o.file} ${cliArg(o.key)}`), /^$/, `del map ${o.file} ${o.key}`);
        break;
      case 'map-replace':
        await replaceMap(o.file, o.content);
        break;
      case 'cert-new':
      case 'cert-set': {
        if (o.op === 'cert-new') expect(await cli.command(`new ssl cert ${o.file}`), /^New empty certificate store/, `new ssl cert ${o.file}`);
        expect(await cli.command(`set ssl cert ${o.file}`, 5000, pemPayload(o.pem, o.file)), /^Transaction (created|updated)/, `set ssl cert ${o.file}`);
        expect(await cli.command(`commit ssl cert ${o.file}`), /Success!$/, `commit ssl cert ${o.file}`);
        break;
      }
      case 'cert-del':
        expect(await cli.command(`del ssl cert ${o.file}`), /deleted!$/, `del ssl cert ${o.file}`);
        break;
      case 'sni-add':
        expect(await cli.command(`add ssl crt-list ${o.list}`, 5000, o.line ?? `${o.file} ${cliArg(o.host)}`), /Success!$/, `add ssl crt-list ${o.host}`);
        break;
      case 'ca-new': {
        // HAProxy 2.6 spells the CRL's creation `new ssl crlfile`, every other command `crl-file`.
        const noun = o.kind === 'ca' ? 'ca-file' : 'crl-file';
        expect(await cli.command(`new ssl ${o.kind === 'ca' ? 'ca-file' : 'crlfile'} ${o.file}`), /^New (CA|CRL) file created/, `new ssl ${noun} ${o.file}`);
        expect(await cli.command(`set ssl ${noun} ${o.file}`, 5000, pemPayload(o.pem, o.file)), /^transaction (created|updated)/i, `set ssl ${noun} ${o.file}`);
        expect(await cli.command(`commit ssl ${noun} ${o.file}`), /Success!$/, `commit ssl ${noun} ${o.file}`);
        break;
      }
      case 'ca-del':
        expect(await cli.command(`del ssl ${o.kind === 'ca' ? 'ca-file' : 'crl-file'} ${o.file}`), /deleted/i, `del ssl ${o.kind}-file ${o.file}`);
        break;
      case 'backend-tls-new': {
        // Named by the hash of its content: one HAProxy still holds (a deletion refused while a server used it) is
        // this very content.
        const noun = o.kind === 'ca' ? 'ca-file' : 'cert';
        const created = await cli.command(`new ssl ${noun} ${o.file}`);
        if (/already exists/i.test(created)) break;
        expect(created, o.kind === 'ca' ? /^New CA file created/ : /^New empty certificate store/, `new ssl ${noun} ${o.file}`);
        expect(await cli.command(`set ssl ${noun} ${o.file}`, 5000, pemPayload(o.pem, o.file)), /^transaction (created|updated)/i, `set ssl ${noun} ${o.file}`);
        expect(await cli.command(`commit ssl ${noun} ${o.file}`), /Success!$/, `commit ssl ${noun} ${o.file}`);
        break;
      }
      case 'backend-tls-del': {
        // A server waiting in maintenance for its connections still uses the file: it then stays until the reload.
        const out = await cli.command(`del ssl ${o.kind === 'ca' ? 'ca-file' : 'cert'} ${o.file}`);
        if (!/deleted|in use|doesn't exist|does not exist|not found/i.test(out)) throw new Error(`del ssl ${o.kind} ${o.file}: ${out.trim() || '(no answer)'}`);
        break;
      }
      case 'sni-del': {
        const line = crtListLine(await cli.command(`show ssl crt-list -n ${o.list}`), o.file, o.host);
        if (line === undefined) throw new Error(`crt-list ${o.list} has no line for ${o.host}`);
        expect(await cli.command(`del ssl crt-list ${o.list} ${o.file}:${line}`), /deleted in crtlist/, `del ssl crt-list ${o.host}`);
        break;
      }
    }
  }
}

/** `del server` refuses while connections are attached; the server then waits in maintenance for a retry. */
export async function deleteServer(cli: RuntimeCli, id: string, pending: PendingDeletes): Promise<void> {
  const out = (await cli.command(`del server ${id}`)).trim();
  if (out === 'Server deleted.' || /^No such server/i.test(out)) {
    pending.delete(id);
    return;
  }
  if (/still has connections|has active|not empty|is not in maintenance/i.test(out)) {
    pending.add(id);
    return;
  }
  throw new Error(`del server ${id}: ${out}`);
}

/** The line number of `file host` in `show ssl crt-list -n` output (`<file>:<line> [options] <sni>...`). */
export function crtListLine(listing: string, file: string, host: string): number | undefined {
  for (const l of listing.split('\n')) {
    const m = /^(\S+):(\d+)(?:\s+\[[^\]]*\])?\s+(.*)$/.exec(l.trim());
    if (m && m[1] === file && m[3]!.split(/\s+/).includes(host)) return Number(m[2]);
  }
  return undefined;
}
