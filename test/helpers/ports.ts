// Free TCP ports on 127.0.0.1 for tests.
import net from 'node:net';

/** A port that was free a moment ago: listen on 127.0.0.1:0, read the port the system chose, close. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (port === 0) throw new Error('the system gave no port');
  return port;
}
