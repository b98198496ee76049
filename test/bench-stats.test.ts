// The order statistics behind the figures: nearest-rank percentiles of latencies, and the
// median and min-max spread over repetitions.
import test from 'ava';
import { latencySummary, median, percentile, sortedAscending, summarize } from '../bench/stats.js';

test('the nearest-rank percentile is the smallest value with at least that fraction at or below it', (t) => {
  const values = sortedAscending([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  t.is(percentile(values, 0.5), 5);
  t.is(percentile(values, 0.95), 10);
  t.is(percentile(values, 0.1), 1);
  t.is(percentile(values, 1), 10);
  t.is(percentile([7], 0.99), 7);
});

test('percentiles of a long tail: p99 of 1000 values sees the 10 slowest only from p99.1 on', (t) => {
  const values = sortedAscending([...Array.from({ length: 990 }, () => 1), ...Array.from({ length: 10 }, () => 100)]);
  t.is(percentile(values, 0.99), 1);
  t.is(percentile(values, 0.991), 100);
});

test('no values have no percentile, and a fraction outside (0, 1] is a bug', (t) => {
  t.is(percentile([], 0.5), null);
  t.throws(() => percentile([1], 0));
  t.throws(() => percentile([1], 1.5));
});

test('sorting is numeric, not by text', (t) => {
  t.deepEqual(sortedAscending([10, 9, 100, 1.5]), [1.5, 9, 10, 100]);
});

test('the median is the middle value, or the mean of the two middle values', (t) => {
  t.is(median([3, 1, 2]), 2);
  t.is(median([4, 1, 3, 2]), 2.5);
  t.is(median([]), null);
});

test('a summary gives median and spread over the values that exist, and nothing for none', (t) => {
  t.deepEqual(summarize([300, 100, null, 200, undefined]), { median: 200, min: 100, max: 300, count: 3 });
  t.is(summarize([null, null]), null);
  t.is(summarize([Number.NaN]), null);
});

test('a latency summary reports p50, p95, p99, mean and max of unsorted samples', (t) => {
  const samples = Array.from({ length: 100 }, (_, index) => 100 - index); // 100 down to 1
  const summary = latencySummary(samples);
  t.deepEqual(summary, { p50: 50, p95: 95, p99: 99, mean: 50.5, max: 100 });
  t.deepEqual(latencySummary([]), { p50: null, p95: null, p99: null, mean: null, max: null });
});
