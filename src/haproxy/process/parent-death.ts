// No HAProxy may outlive Portico: an orphaned one keeps serving a configuration nobody updates, and holds the ports.
// Linux's parent-death signal (prctl PR_SET_PDEATHSIG) covers even a Portico killed with SIGKILL. Node cannot set it
// between fork and exec, so HAProxy is started through util-linux's `setpriv --pdeathsig SIGTERM`, which sets it and
// execs HAProxy in the same process. The setting survives exec (HAProxy's binary is not set-user-ID and has no file
// capabilities), so it also survives the master's re-exec on every reload. The signal is sent when the thread that
// forked the child exits: libuv spawns from the thread running the event loop, Node's main thread, which lives as
// long as the process. HAProxy's master answers SIGTERM by stopping its workers at once, which frees the ports.
import { execFile } from 'node:child_process';

const CANDIDATES = ['/usr/bin/setpriv', '/bin/setpriv'];

/** The command prefix that gives HAProxy a parent-death signal, or undefined when no capable setpriv is installed. */
export async function parentDeathPrefix(): Promise<string[] | undefined> {
  for (const bin of CANDIDATES) {
    const help = await new Promise<string>((resolve) => {
      execFile(bin, ['--help'], { timeout: 5000 }, (err, stdout) => resolve(err ? '' : stdout));
    });
    if (help.includes('--pdeathsig')) return [bin, '--pdeathsig', 'SIGTERM', '--'];
  }
  return undefined;
}
