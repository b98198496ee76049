// The dashboard's web server, on Node's own http module: a handful of routes need no framework.
//   GET  /                 the page (dashboard/page/index.html)
//   GET  /dashboard.js|css the page's script and style
//   GET  /uPlot.iife.min.js, /uPlot.min.css   the chart library, from the uplot package
//   GET  /api/state        the newest state as JSON (dashboard/state.ts)
//   GET  /api/events       the same, pushed at every poll as server-sent events
//   GET  /api/timeline?trace=M2-5   one recent transaction with its timeline, or null
//   POST /api/run          run command lines on a middleware: {middleware, commands}
// The page's files are read from the source folder dashboard/page/ (the compiler copies only
// .ts into dist/), found from the package root, which is two folders above this compiled file.
// Everything is read once at start, so the page needs nothing from the internet.
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { OccdbError, type ErrorCode } from '../errors/catalogue.js';
import { Poller } from './poller.js';
import type { DashboardState } from './state.js';
import { RunRequestSchema, runTransactions } from './transactions.js';

/** The package root: this file runs from <root>/dist/dashboard/. */
const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PAGE_DIR = path.join(PACKAGE_ROOT, 'dashboard', 'page');

/** A POST body larger than this is refused unread (the form's text is at most 16 KiB of characters). */
export const REQUEST_BODY_BYTES_MAX = 128 * 1024;
/** Event streams open at once; one more is refused (each costs a JSON document a second). */
const EVENT_STREAMS_MAX = 32;
/** Transactions from the form running at once; one more is refused until one ends. */
const RUNS_IN_FLIGHT_MAX = 4;
/** An event stream whose reader lets this much pile up unsent is closed (the page opens it again). */
const EVENT_STREAM_BACKLOG_BYTES_MAX = 4 * 1024 * 1024;

interface StaticFile {
  body: Buffer;
  contentType: string;
}

export interface DashboardOptions {
  clusterFile: string;
  host: string;
  /** 0: any free port. */
  port: number;
}

export interface Dashboard {
  /** The address it listens on, as a URL. */
  url: string;
  close(): Promise<void>;
}

/**
 * Reads the cluster file and the page's files, polls the cluster once, and listens. Rejects
 * with an OccdbError when the cluster file cannot be read or the address cannot be bound.
 */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const files = loadStaticFiles();
  const poller = new Poller(options.clusterFile);
  await poller.start();
  const streams = new Set<http.ServerResponse>();
  let runsInFlight = 0;
  const loopbackOnly = isLoopbackName(options.host);
  // Every stream gets the same text for a state: written out once.
  let lastEvent: { state: DashboardState; text: string } | null = null;
  const eventText = (state: DashboardState): string => {
    if (lastEvent?.state !== state) lastEvent = { state, text: `data: ${JSON.stringify(state)}\n\n` };
    return lastEvent.text;
  };

  const server = http.createServer((request, response) => {
    void route(request, response).catch((error: unknown) => {
      // A bug here must not take the dashboard down: the request gets a 500 naming it.
      sendError(response, 500, 'INTERNAL', `internal error: ${error instanceof Error ? error.message : String(error)}`);
    });
  });

  async function route(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    // Bound to loopback, it answers only requests for a loopback name: a web page whose own name
    // was made to resolve to 127.0.0.1 (DNS rebinding) cannot read the cluster or run on it.
    if (loopbackOnly && !isLoopbackName(request.headers.host)) {
      sendError(response, 403, 'USAGE', `the dashboard listens on loopback and answers only requests for 127.0.0.1 or localhost, not for ${request.headers.host ?? 'no host'}`);
      return;
    }
    const url = new URL(request.url ?? '/', 'http://dashboard');
    const file = files.get(url.pathname);
    if (request.method === 'GET' && file !== undefined) {
      response.writeHead(200, { 'content-type': file.contentType, 'cache-control': 'no-cache' });
      response.end(file.body);
      return;
    }
    if (url.pathname === '/api/state' && request.method === 'GET') {
      sendJson(response, 200, poller.state);
      return;
    }
    if (url.pathname === '/api/events' && request.method === 'GET') {
      openEventStream(response);
      return;
    }
    if (url.pathname === '/api/timeline' && request.method === 'GET') {
      // Not listed (yet, or any more) is an answer, not an error: the page asks again at the next state.
      sendJson(response, 200, { transaction: poller.transaction(url.searchParams.get('trace') ?? '') });
      return;
    }
    if (url.pathname === '/api/run' && request.method === 'POST') {
      await run(request, response);
      return;
    }
    const known = files.has(url.pathname) || ['/api/state', '/api/events', '/api/timeline', '/api/run'].includes(url.pathname);
    if (known) sendError(response, 405, 'UNKNOWN_MESSAGE', `${request.method ?? '?'} is not served at ${url.pathname}`);
    else sendError(response, 404, 'UNKNOWN_MESSAGE', `nothing is served at ${url.pathname}`);
  }

  function openEventStream(response: http.ServerResponse): void {
    if (streams.size >= EVENT_STREAMS_MAX) {
      sendError(response, 503, 'NODE_UNAVAILABLE', `already ${EVENT_STREAMS_MAX} event streams open; close a dashboard tab`);
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const send = (state: DashboardState): void => {
      if (response.writableLength > EVENT_STREAM_BACKLOG_BYTES_MAX) {
        response.destroy();
        return;
      }
      response.write(eventText(state));
    };
    streams.add(response);
    if (poller.state !== null) send(poller.state);
    const unsubscribe = poller.subscribe(send);
    response.on('close', () => {
      unsubscribe();
      streams.delete(response);
    });
  }

  async function run(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    // A form post from another site cannot send JSON without the browser asking first (CORS),
    // which this server never allows: so no other page can run transactions through it.
    if (!(request.headers['content-type'] ?? '').startsWith('application/json')) {
      sendError(response, 415, 'BAD_MESSAGE', 'the body must be JSON (content-type: application/json): {"middleware": 1, "commands": "..."}');
      return;
    }
    const body = await readBody(request, REQUEST_BODY_BYTES_MAX);
    if (body === null) {
      // The rest of the body is not read: the connection closes after the answer.
      response.setHeader('connection', 'close');
      sendError(response, 413, 'MESSAGE_TOO_LARGE', `the body is larger than ${REQUEST_BODY_BYTES_MAX} bytes`);
      return;
    }
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch (error) {
      sendError(response, 400, 'BAD_MESSAGE', `the body is not JSON: ${(error as Error).message}`);
      return;
    }
    const parsed = RunRequestSchema.safeParse(json);
    if (!parsed.success) {
      sendError(response, 400, 'BAD_MESSAGE', describeIssues(parsed.error));
      return;
    }
    if (runsInFlight >= RUNS_IN_FLIGHT_MAX) {
      sendError(response, 429, 'NODE_UNAVAILABLE', `already ${RUNS_IN_FLIGHT_MAX} transactions from the form running; wait for one to end`);
      return;
    }
    runsInFlight += 1;
    try {
      sendJson(response, 200, await runTransactions(options.clusterFile, parsed.data));
    } catch (error) {
      if (!(error instanceof OccdbError)) throw error;
      sendError(response, error.code === 'INTERNAL' ? 500 : 400, error.code, error.message);
    } finally {
      runsInFlight -= 1;
    }
  }

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    poller.stop();
    throw new OccdbError('USAGE', `the dashboard cannot listen on ${options.host}:${options.port}: ${(error as Error).message}`);
  }
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}/`,
    async close() {
      poller.stop();
      for (const stream of streams) stream.end();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // A browser keeps idle connections open, which would hold server.close() up.
      server.closeAllConnections();
      await closed;
    },
  };
}

/** Whether `host` (an address, or a Host header with its port) names this machine's loopback. */
function isLoopbackName(host: string | undefined): boolean {
  if (host === undefined) return false;
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

/** The page, its script and style, and uPlot, by the path each is served at. */
function loadStaticFiles(): Map<string, StaticFile> {
  const require = createRequire(import.meta.url);
  const sources: [string, string, string][] = [
    ['/', path.join(PAGE_DIR, 'index.html'), 'text/html; charset=utf-8'],
    ['/dashboard.js', path.join(PAGE_DIR, 'dashboard.js'), 'text/javascript; charset=utf-8'],
    ['/dashboard.css', path.join(PAGE_DIR, 'dashboard.css'), 'text/css; charset=utf-8'],
    ['/uPlot.iife.min.js', require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
    ['/uPlot.min.css', require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8'],
  ];
  const files = new Map<string, StaticFile>();
  for (const [urlPath, file, contentType] of sources) {
    try {
      files.set(urlPath, { body: fs.readFileSync(file), contentType });
    } catch (error) {
      throw new OccdbError('USAGE', `the dashboard's file ${file} cannot be read (${(error as Error).message}); run it from a complete occdb checkout`);
    }
  }
  return files;
}

/** The body, or null as soon as it passes `bytesMax`. */
function readBody(request: http.IncomingMessage, bytesMax: number): Promise<Buffer | null> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > bytesMax) return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > bytesMax) {
        request.removeAllListeners('data');
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** `middleware: expected a number` for each field at fault. */
function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : 'body'}: ${issue.message}`).join('; ');
}

function sendJson(response: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache', 'content-length': Buffer.byteLength(text) });
  response.end(text);
}

function sendError(response: http.ServerResponse, status: number, code: ErrorCode, message: string): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  sendJson(response, status, { error: { code, message } });
}
