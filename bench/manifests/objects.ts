// Manifest text for the objects the bench feeds Portico, built from templates rather than a YAML library: the
// scale test writes 70,000 documents, and every value here is a fixed-grammar name, address or number.

export const NAMESPACE = 'bench';

export function ingress(o: { name: string; host: string; service: string; tlsSecret?: string; annotations?: Record<string, string> }): string {
  const tls = o.tlsSecret ? `  tls:\n    - hosts: [${o.host}]\n      secretName: ${o.tlsSecret}\n` : '';
  const annotations = o.annotations ? `, annotations: ${JSON.stringify(o.annotations)}` : '';
  return `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: ${o.name}, namespace: ${NAMESPACE}${annotations} }
spec:
  ingressClassName: portico
${tls}  rules:
    - host: ${o.host}
      http:
        paths:
          - { path: /, pathType: Prefix, backend: { service: { name: ${o.service}, port: { name: http } } } }
`;
}

export function service(name: string, targetPort: number): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${NAMESPACE} }
spec:
  ports: [{ name: http, port: 80, targetPort: ${targetPort}, protocol: TCP }]
`;
}

export function endpointSlice(o: { name: string; service: string; port: number; addresses: string[] }): string {
  const eps = o.addresses.map((a) => `  - addresses: [${a}]\n    conditions: { ready: true, serving: true, terminating: false }\n`).join('');
  return `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: { name: ${o.name}, namespace: ${NAMESPACE}, labels: { kubernetes.io/service-name: ${o.service} } }
addressType: IPv4
ports: [{ name: http, port: ${o.port}, protocol: TCP }]
endpoints:
${eps}`;
}

export function tlsSecret(name: string, certPem: string, keyPem: string): string {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  return `apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: ${NAMESPACE} }
type: kubernetes.io/tls
data:
  tls.crt: ${b64(certPem)}
  tls.key: ${b64(keyPem)}
`;
}

export function joinDocs(docs: string[]): string {
  return docs.join('---\n');
}
