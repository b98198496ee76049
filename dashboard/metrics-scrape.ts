// The one figure the dashboard takes from the middlewares' Prometheus metrics rather than their
// status: the APPLYs each has queued or on their way to each database and not acknowledged yet
// (occdb_applies_pending), which is how far each replica lags behind that middleware. Read
// from GET /metrics on the metrics port the cluster file records (none: not known).
import http from 'node:http';
import { connectHost } from '../cluster/cluster-file.js';
import type { ClusterNode } from '../startup/nodes.js';

const APPLIES_PENDING = 'occdb_applies_pending';
/** A metrics page is a few kilobytes; more than this is not a metrics page of ours. */
const METRICS_BYTES_MAX = 1024 * 1024;

export type ScrapedAppliesPending = { ok: true; byDatabase: Map<string, number> } | { ok: false; problem: string };
/** Per middleware name: APPLYs pending by database name, or why there is nothing. */
export type AppliesPending = Map<string, ScrapedAppliesPending>;

/** Scrapes every middleware of `middlewares` that has a metrics port, all at once, each within `timeoutMs`. */
export async function scrapeAppliesPending(middlewares: readonly ClusterNode[], timeoutMs: number): Promise<AppliesPending> {
  const scraped = await Promise.all(middlewares.flatMap((node) => {
    const port = node.ports.metrics;
    if (port === undefined) return [];
    return [getText(connectHost(node.host), port, '/metrics', timeoutMs).then(
      (text): [string, ScrapedAppliesPending] => [node.name, { ok: true, byDatabase: parseAppliesPending(text) }],
      (error: Error): [string, ScrapedAppliesPending] => [node.name, { ok: false, problem: error.message }],
    )];
  }));
  return new Map(scraped);
}

/** `occdb_applies_pending{database="DATABASE2",process="MIDDLEWARE1"} 3` lines, by database. */
export function parseAppliesPending(text: string): Map<string, number> {
  const byDatabase = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${APPLIES_PENDING}{`)) continue;
    const match = /database="([^"]+)"[^}]*\}\s+(\S+)/.exec(line);
    const value = Number(match?.[2]);
    if (match && Number.isFinite(value)) byDatabase.set(match[1]!, (byDatabase.get(match[1]!) ?? 0) + value);
  }
  return byDatabase;
}

function getText(host: string, port: number, urlPath: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.get({ host, port, path: urlPath, timeout: timeoutMs, agent: false }, (response) => {
      if (response.statusCode !== 200) {
        response.resume();
        reject(new Error(`GET ${urlPath} answered ${response.statusCode}`));
        return;
      }
      const chunks: Buffer[] = [];
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > METRICS_BYTES_MAX) request.destroy(new Error(`GET ${urlPath} answered more than ${METRICS_BYTES_MAX} bytes`));
        else chunks.push(chunk);
      });
      response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      response.on('error', reject);
    });
    // `timeout` bounds only the socket's idleness; this bounds the whole request.
    const timer = setTimeout(() => request.destroy(new Error(`no metrics within ${timeoutMs} ms`)), timeoutMs);
    request.on('close', () => clearTimeout(timer));
    request.on('timeout', () => request.destroy(new Error(`no metrics within ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}
