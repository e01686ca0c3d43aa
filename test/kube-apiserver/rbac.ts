// RBAC as plugin/pkg/auth/authorizer/rbac/rbac.go evaluates it: ClusterRoleBindings grant everywhere, RoleBindings
// only in their own namespace (whether they point at a Role or a ClusterRole); a request is allowed if any rule of
// any bound role covers (verb, apiGroup, resource[/subresource], resourceName). Rule matching follows
// pkg/apis/rbac/v1/evaluation_helpers.go. Denials carry the message of
// staging/src/k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go forbiddenMessage.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { RequestInfo } from './request-info.js';
import { isMap } from './types.js';

export interface UserInfo {
  name: string;
  groups: string[];
}

interface PolicyRule {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
  resourceNames: string[];
  nonResourceURLs: string[];
}

interface Role {
  kind: 'Role' | 'ClusterRole';
  namespace: string;
  name: string;
  rules: PolicyRule[];
}

interface Binding {
  kind: 'RoleBinding' | 'ClusterRoleBinding';
  namespace: string;
  name: string;
  roleRef: { kind: string; name: string };
  subjects: { kind: string; name: string; namespace: string }[];
}

export interface Decision {
  allowed: boolean;
  /** "RBAC: ..." when bindings point at roles that do not exist, appended to the 403 message as the real server does. */
  reason: string;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

export function serviceAccountUser(namespace: string, name: string): UserInfo {
  return { name: `system:serviceaccount:${namespace}:${name}`, groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'] };
}

export class Rbac {
  private readonly roles: Role[] = [];
  private readonly bindings: Binding[] = [];

  static fromFiles(files: string[]): Rbac {
    const r = new Rbac();
    for (const f of files) r.addYaml(readFileSync(f, 'utf8'));
    return r;
  }

  addYaml(text: string): void {
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length) throw new Error(`RBAC YAML: ${doc.errors[0]?.message ?? 'parse error'}`);
      this.add(doc.toJS());
    }
  }

  private add(o: unknown): void {
    if (!isMap(o)) return;
    if (o.kind === 'List') {
      for (const item of Array.isArray(o.items) ? o.items : []) this.add(item);
      return;
    }
    const meta = isMap(o.metadata) ? o.metadata : {};
    const name = typeof meta.name === 'string' ? meta.name : '';
    const namespace = typeof meta.namespace === 'string' ? meta.namespace : 'default';
    if (o.kind === 'Role' || o.kind === 'ClusterRole') {
      const rules = (Array.isArray(o.rules) ? o.rules : []).filter(isMap).map((r) => ({
        verbs: strings(r.verbs),
        apiGroups: strings(r.apiGroups),
        resources: strings(r.resources),
        resourceNames: strings(r.resourceNames),
        nonResourceURLs: strings(r.nonResourceURLs),
      }));
      this.roles.push({ kind: o.kind, namespace: o.kind === 'Role' ? namespace : '', name, rules });
    } else if (o.kind === 'RoleBinding' || o.kind === 'ClusterRoleBinding') {
      const ref = isMap(o.roleRef) ? o.roleRef : {};
      const subjects = (Array.isArray(o.subjects) ? o.subjects : []).filter(isMap).map((s) => ({
        kind: typeof s.kind === 'string' ? s.kind : '',
        name: typeof s.name === 'string' ? s.name : '',
        namespace: typeof s.namespace === 'string' ? s.namespace : '',
      }));
      this.bindings.push({
        kind: o.kind,
        namespace: o.kind === 'RoleBinding' ? namespace : '',
        name,
        roleRef: { kind: typeof ref.kind === 'string' ? ref.kind : '', name: typeof ref.name === 'string' ? ref.name : '' },
        subjects,
      });
    }
  }

  /** rbac/v1 helpers appliesToUser. */
  private appliesTo(b: Binding, user: UserInfo): boolean {
    return b.subjects.some((s) => {
      if (s.kind === 'User') return s.name === user.name;
      if (s.kind === 'Group') return user.groups.includes(s.name);
      if (s.kind === 'ServiceAccount') {
        // A RoleBinding's ServiceAccount subject without namespace means the binding's namespace.
        const ns = s.namespace || b.namespace;
        return ns !== '' && user.name === `system:serviceaccount:${ns}:${s.name}`;
      }
      return false;
    });
  }

  authorize(user: UserInfo, req: RequestInfo): Decision {
    const errors: string[] = [];
    for (const b of this.bindings) {
      if (!this.appliesTo(b, user)) continue;
      // RoleBindings grant only inside their namespace; cluster-scope requests need a ClusterRoleBinding.
      if (b.kind === 'RoleBinding' && b.namespace !== req.namespace) continue;
      const role = this.roles.find((r) => r.kind === b.roleRef.kind && r.name === b.roleRef.name && (r.kind === 'ClusterRole' || r.namespace === b.namespace));
      if (!role) {
        errors.push(b.roleRef.kind === 'ClusterRole' ? `clusterrole.rbac.authorization.k8s.io "${b.roleRef.name}" not found` : `role.rbac.authorization.k8s.io "${b.roleRef.name}" not found`);
        continue;
      }
      if (role.rules.some((r) => ruleAllows(r, req))) return { allowed: true, reason: '' };
    }
    return { allowed: false, reason: errors.length === 0 ? '' : `RBAC: ${errors.length === 1 ? errors[0] ?? '' : `[${errors.join(', ')}]`}` };
  }
}

function has(list: string[], v: string): boolean {
  return list.includes('*') || list.includes(v);
}

/** evaluation_helpers.go RuleAllows / ResourceMatches / NonResourceURLMatches. */
function ruleAllows(r: PolicyRule, req: RequestInfo): boolean {
  if (!has(r.verbs, req.verb)) return false;
  if (!req.isResourceRequest) {
    return r.nonResourceURLs.some((u) => u === '*' || u === req.path || (u.endsWith('*') && req.path.startsWith(u.slice(0, -1))));
  }
  if (!has(r.apiGroups, req.apiGroup)) return false;
  const combined = req.subresource ? `${req.resource}/${req.subresource}` : req.resource;
  const resourceOk = r.resources.some((res) => res === '*' || res === combined || (req.subresource !== '' && res === `*/${req.subresource}`));
  if (!resourceOk) return false;
  return r.resourceNames.length === 0 || r.resourceNames.includes(req.name);
}

/** responsewriters/errors.go forbiddenMessage. */
export function forbiddenMessage(user: UserInfo, req: RequestInfo): string {
  if (!req.isResourceRequest) return `User "${user.name}" cannot ${req.verb} path "${req.path}"`;
  const resource = req.subresource ? `${req.resource}/${req.subresource}` : req.resource;
  if (req.namespace) return `User "${user.name}" cannot ${req.verb} resource "${resource}" in API group "${req.apiGroup}" in the namespace "${req.namespace}"`;
  return `User "${user.name}" cannot ${req.verb} resource "${resource}" in API group "${req.apiGroup}" at the cluster scope`;
}
