// Starts an nginx with a configuration of ours, in a prefix directory of its own, in the foreground so that it
// lives in the process group the bench can kill.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startChild } from '../lib/processes.js';
import type { Child } from '../lib/processes.js';

/** The part of nginx.conf every instance shares; `http` is the body of the http block. */
export function nginxConf(prefix: string, http: string, workerConnections = 8192): string {
  return `daemon off;
worker_processes 1;
worker_rlimit_nofile ${workerConnections * 2};
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections ${workerConnections}; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
${http}
}
`;
}

export async function startNginx(name: string, prefix: string, conf: string, cpus: string): Promise<Child> {
  await mkdir(prefix, { recursive: true });
  const file = join(prefix, 'nginx.conf');
  await writeFile(file, conf);
  return startChild(name, 'nginx', ['-p', prefix, '-c', file, '-e', join(prefix, 'error.log')], { cpus });
}
