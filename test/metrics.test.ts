// The recording behind the metrics and `observe`, in one process: the hot-key table stays
// within its bound and keeps the keys that matter, the ring keeps the last 50 transactions
// newest first with their events in words, and the histograms and counters come out of a
// scrape in Prometheus's text format with the right buckets.
import test from 'ava';
import { HotKeys } from '../metrics/hot-keys.js';
import { LatencyHistogram } from '../metrics/histogram.js';
import { collected, collectedHistograms, createRegistry } from '../metrics/registry.js';
import { RECENT_TRANSACTIONS_MAX, TraceEvent, TraceRing } from '../metrics/traces.js';
import { TransactionObserver } from '../metrics/transactions.js';

test('hot keys: at most the bound, the smallest counts dropped first, a key that keeps conflicting stays on top', (t) => {
  const hotKeys = new HotKeys(100);
  for (let round = 0; round < 50; round++) {
    hotKeys.aborted('hot');
    hotKeys.waited('warm');
    for (let index = 0; index < 20; index++) hotKeys.aborted(`cold_${round}_${index}`);
    t.true(hotKeys.size <= 100);
  }
  t.deepEqual(hotKeys.top(2), [{ key: 'hot', aborts: 50, waits: 0 }, { key: 'warm', aborts: 0, waits: 50 }]);
});

test('the ring keeps the last 50 transactions, newest first, each event in words with the process it came from', (t) => {
  const ring = new TraceRing('M2');
  for (let index = 0; index < RECENT_TRANSACTIONS_MAX + 7; index++) {
    const trace = ring.begin();
    trace.note(TraceEvent.readBegan, 0);
    trace.note(TraceEvent.readEnded, 1);
    trace.note(TraceEvent.vote, 3, 'yes');
    trace.note(TraceEvent.applied, 1);
    trace.end('committed', undefined);
    ring.keep(trace);
  }
  const recent = ring.recent();
  t.is(recent.length, RECENT_TRANSACTIONS_MAX);
  t.is(recent[0]!.traceId, `M2-${RECENT_TRANSACTIONS_MAX + 7}`);
  t.is(recent.at(-1)!.traceId, 'M2-8');
  t.deepEqual(recent[0]!.timeline.map(({ phase, event, node }) => [phase, event, node]), [
    ['read', 'read phase began', undefined],
    ['read', 'read phase ended, 1 key read', undefined],
    ['vote', 'yes from MIDDLEWARE3', 'MIDDLEWARE3'],
    ['apply', 'DATABASE1 applied', 'DATABASE1'],
    ['reply', 'replied committed', undefined],
  ]);
});

test('a scrape gives the counters by label and the histograms with cumulative buckets, sum and count', async (t) => {
  const registry = createRegistry('MIDDLEWARE1');
  const histogram = new LatencyHistogram();
  histogram.observeMs(0.2);
  histogram.observeMs(3);
  histogram.observeMs(20_000);
  collectedHistograms(registry, 'test_duration_seconds', 'A test histogram.', 'phase', { total: histogram });
  const observer = new TransactionObserver(1);
  observer.aborted(undefined, 'vote-no', 'x');
  observer.aborted(undefined, 'vote-no', 'x');
  observer.aborted(undefined, 'stale-read', 'y');
  collected(registry, 'counter', 'test_aborts_total', 'A test counter.', () => [...observer.aborts].map(([reason, count]) => [{ reason }, count] as const));
  const text = await registry.metrics();
  t.regex(text, /^# HELP occdb_test_duration_seconds A test histogram\.$/m);
  t.regex(text, /^# TYPE occdb_test_duration_seconds histogram$/m);
  t.regex(text, /^occdb_test_duration_seconds_bucket\{phase="total",le="0.00025",process="MIDDLEWARE1"\} 1$/m);
  t.regex(text, /^occdb_test_duration_seconds_bucket\{phase="total",le="0.005",process="MIDDLEWARE1"\} 2$/m);
  t.regex(text, /^occdb_test_duration_seconds_bucket\{phase="total",le="10",process="MIDDLEWARE1"\} 2$/m);
  t.regex(text, /^occdb_test_duration_seconds_bucket\{phase="total",le="\+Inf",process="MIDDLEWARE1"\} 3$/m);
  t.regex(text, /^occdb_test_duration_seconds_count\{phase="total",process="MIDDLEWARE1"\} 3$/m);
  t.regex(text, /^occdb_test_duration_seconds_sum\{phase="total",process="MIDDLEWARE1"\} 20\.0032/m);
  t.regex(text, /^occdb_test_aborts_total\{reason="vote-no",process="MIDDLEWARE1"\} 2$/m);
  t.regex(text, /^occdb_test_aborts_total\{reason="stale-read",process="MIDDLEWARE1"\} 1$/m);
  t.regex(text, /^occdb_process_resident_memory_bytes\{process="MIDDLEWARE1"\} \d+/m, 'the default process metrics');
  t.deepEqual(observer.hotKeys.top(1), [{ key: 'x', aborts: 2, waits: 0 }]);
});
