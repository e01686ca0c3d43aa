// What the Kubernetes e2e tests share: Portico's own RBAC from deploy/, so that the stand-in API server
// (test/kube-apiserver) refuses whatever the shipped role does not grant.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// dist/test/e2e/harness/kube.js -> the repository root.
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));

/** The Role, ClusterRole and binding manifests under deploy/ (the namespaced variant and overlays left out). */
export async function rbacFiles(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory() && e.name !== 'overlays' && e.name !== 'rbac-namespaced') await walk(p);
      else if (/\.ya?ml$/.test(e.name) && /kind:\s*(Cluster)?Role(Binding)?\b/.test(await readFile(p, 'utf8'))) out.push(p);
    }
  };
  await walk(join(repoRoot, 'deploy'));
  return out;
}
