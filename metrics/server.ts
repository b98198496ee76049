// The metrics endpoint of a process: GET /metrics on its metrics port, in Prometheus's text
// format. Anything else is answered 404; the server holds no state of its own.
import http from 'node:http';
import type client from 'prom-client';
import { OccdbError, PORT_IN_USE } from '../errors/catalogue.js';

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function serveMetrics(options: { host: string; port: number; registry: client.Registry; label: string }): Promise<MetricsServer> {
  const server = http.createServer((request, response) => {
    const url = request.url?.split('?')[0];
    if (request.method !== 'GET' || url !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: the metrics are at GET /metrics\n');
      return;
    }
    options.registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
      (error: Error) => response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`${error.message}\n`),
    );
  });
  // A scrape is one short request: idle keep-alive connections must not hold the process open.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE') reject(new OccdbError('NODE_UNAVAILABLE', `${options.label}: metrics port ${options.port} on ${options.host} ${PORT_IN_USE}`));
      else reject(new OccdbError('NODE_UNAVAILABLE', `${options.label} cannot serve metrics on ${options.host}:${options.port}: ${error.message}`));
    });
    server.listen({ host: options.host, port: options.port, exclusive: true }, () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
