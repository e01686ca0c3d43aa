// The e2e harness: echo pods, a Portico launcher, clients, certificates and manifest builders.
export * from './certs.js';
export * from './client.js';
export * from './echo.js';
export * from './fastcgi.js';
export * from './manifests.js';
export * from './portico.js';
export * from './ports.js';
export * from './apps.js';
export * from './kube.js';
export * from './tmpfs.js';
