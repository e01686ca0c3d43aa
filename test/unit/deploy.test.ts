// deploy/ must build with `kubectl kustomize` and hold what the install promises.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const repo = resolve(fileURLToPath(import.meta.url), '../../../..');
type Obj = { kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> }; spec?: Record<string, unknown>; rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };

function kubectlAvailable(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function build(dir: string): Obj[] {
  const out = execFileSync('kubectl', ['kustomize', join(repo, dir)], { encoding: 'utf8' });
  return parseAllDocuments(out).map((d) => d.toJS() as Obj);
}

const kinds = (objs: Obj[]): string[] => [...new Set(objs.map((o) => o.kind))].sort();

test('deploy/ and its overlays build, with the objects the install promises', { skip: kubectlAvailable() ? false : 'kubectl is not installed' }, () => {
  const base = build('deploy');
  for (const k of ['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'IngressClass', 'Deployment', 'Service', 'PodDisruptionBudget', 'NetworkPolicy'])
    assert.ok(kinds(base).includes(k), `deploy/ has a ${k}`);
  const deployment = base.find((o) => o.kind === 'Deployment')!;
  assert.equal(deployment.spec?.replicas, 2);
  const cls = base.find((o) => o.kind === 'IngressClass')!;
  assert.equal(cls.spec?.controller, 'portico.dev/ingress-controller');
  const svc = base.find((o) => o.kind === 'Service')!;
  assert.equal(svc.spec?.type, 'LoadBalancer');
  // Least privilege: read-only on inputs, patch on status only, create/patch on events; nothing else.
  const role = base.find((o) => o.kind === 'ClusterRole')!;
  const grants = (role.rules ?? []).flatMap((r) => r.resources.flatMap((res) => r.verbs.map((v) => `${r.apiGroups.join(',')}/${res}:${v}`))).sort();
  assert.deepEqual(grants, [
    '/configmaps:list', '/configmaps:watch', '/events:create', '/events:patch', '/secrets:list', '/secrets:watch', '/services:list', '/services:watch',
    'discovery.k8s.io/endpointslices:list', 'discovery.k8s.io/endpointslices:watch',
    'networking.k8s.io/ingressclasses:list', 'networking.k8s.io/ingressclasses:watch', 'networking.k8s.io/ingresses/status:patch',
    'networking.k8s.io/ingresses:list', 'networking.k8s.io/ingresses:watch',
  ]);
  const nodeport = build('deploy/overlays/nodeport');
  assert.equal(nodeport.find((o) => o.kind === 'Service')?.spec?.type, 'NodePort');
  const hostnet = build('deploy/overlays/hostnetwork');
  assert.ok(kinds(hostnet).includes('DaemonSet') && !kinds(hostnet).includes('Deployment'));
  assert.ok(hostnet.some((o) => o.kind === 'ClusterRole' && o.metadata.name === 'portico-node-status'));
  assert.ok(build('deploy/rbac-namespaced').length > 0);
  // Beside ingress-nginx: Portico's class must not be a second default, or class-less Ingresses created during the
  // migration would be given to Portico by the API server (and two defaults make the choice ambiguous).
  const beside = build('deploy/overlays/beside-ingress-nginx');
  const besideClass = beside.find((o) => o.kind === 'IngressClass');
  assert.equal(besideClass?.metadata.annotations?.['ingressclass.kubernetes.io/is-default-class'], 'false');
  assert.equal(besideClass?.spec?.controller, 'portico.dev/ingress-controller');
  assert.equal(base.find((o) => o.kind === 'IngressClass')?.metadata.annotations?.['ingressclass.kubernetes.io/is-default-class'], 'true');
  // Taking over: ingress-nginx's class and controller name, and no class of Portico's own left as a second default.
  const takeover = build('deploy/overlays/take-over-ingress-nginx');
  assert.ok(!kinds(takeover).includes('IngressClass'));
  const args = (objs: Obj[]): string[] => (objs.find((o) => o.kind === 'Deployment')!.spec as { template: { spec: { containers: { args: string[] }[] } } }).template.spec.containers[0]!.args;
  assert.deepEqual(args(takeover).filter((a) => /^--(ingress-class|controller-name)=/.test(a)), ['--ingress-class=nginx', '--controller-name=k8s.io/ingress-nginx']);
  assert.deepEqual(args(beside), args(base));
  // The emptyDir's root belongs to root with mode 3777, which Portico refuses as a state directory: the state
  // directory must be a path below it, which Portico creates itself.
  for (const o of [deployment, hostnet.find((x) => x.kind === 'DaemonSet')!]) {
    const pod = (o.spec as { template: { spec: { containers: { args: string[]; volumeMounts: { mountPath: string }[] }[] } } }).template.spec;
    const c = pod.containers[0]!;
    const stateDir = c.args.find((a) => a.startsWith('--state-dir='))!.slice('--state-dir='.length);
    assert.ok(c.volumeMounts.some((m) => stateDir.startsWith(`${m.mountPath}/`)), `${o.kind}: --state-dir ${stateDir} lies below a mounted volume, not on its root`);
  }
  // Stopping: behind kube-proxy (the base) a preStop pause keeps /readyz at 200, which kube-proxy needs to go on
  // forwarding to a terminating pod, and Portico does not wait again; on the host network, where the balancer
  // checks /readyz itself, the drain delay does the waiting with /readyz at 503. Either way the kubelet's
  // terminationGracePeriodSeconds must cover the pause, the drain, the grace period and the stop itself.
  const shutdown = (o: Obj) => {
    const pod = (o.spec as { template: { spec: { terminationGracePeriodSeconds: number; containers: { args: string[]; lifecycle?: { preStop?: { sleep?: { seconds: number } } } }[] } } }).template.spec;
    const c = pod.containers[0]!;
    const flag = (name: string): number | undefined => {
      const a = c.args.find((x) => x.startsWith(`--${name}=`));
      return a === undefined ? undefined : Number(a.slice(name.length + 3));
    };
    return { grace: pod.terminationGracePeriodSeconds, preStop: c.lifecycle?.preStop?.sleep?.seconds, drain: flag('shutdown-drain-delay'), inFlight: flag('shutdown-grace-period') };
  };
  const fromBase = shutdown(deployment);
  assert.deepEqual(fromBase, { grace: 60, preStop: 20, drain: 0, inFlight: 30 });
  const fromHost = shutdown(hostnet.find((x) => x.kind === 'DaemonSet')!);
  assert.deepEqual(fromHost, { grace: 60, preStop: undefined, drain: 20, inFlight: 30 });
  assert.deepEqual(shutdown(nodeport.find((x) => x.kind === 'Deployment')!), fromBase);
  assert.deepEqual(shutdown(takeover.find((x) => x.kind === 'Deployment')!), fromBase);
  for (const s of [fromBase, fromHost]) assert.ok(s.grace >= (s.preStop ?? 0) + (s.drain ?? NaN) + (s.inFlight ?? NaN) + 5, `terminationGracePeriodSeconds ${s.grace} covers the stop: ${JSON.stringify(s)}`);
});
