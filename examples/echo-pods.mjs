// Demo "pods": tiny HTTP echo servers, each on its own loopback address, answering with who they are.
// Usage: node examples/echo-pods.mjs 127.0.1.1:3000=web-1 127.0.1.2:3000=web-2 ...
import { createServer } from 'node:http';

for (const arg of process.argv.slice(2)) {
  const [addr, pod] = arg.split('=');
  const [ip, port] = addr.split(':');
  createServer((req, res) => {
    const body = JSON.stringify({ pod, host: req.headers.host, path: req.url, method: req.method, headers: req.headers }, null, 2) + '\n';
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }).listen(Number(port), ip, () => console.log(`echo pod ${pod} listening on ${ip}:${port}`));
}
