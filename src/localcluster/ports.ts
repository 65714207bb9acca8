// Free TCP ports on loopback, for the control plane's components and for tests and benchmarks
// that start servers. A port is free when asked; callers that can lose it to another process
// in the meantime retry (see LocalControlPlane.start).
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
