// The nemesis's arithmetic on commit times (bench/nemesis-report.ts): when the commits resumed
// after a fault, the longest gap, the rate back at half; the buckets of the chart; and the
// chart's shaded bands.
import test from 'ava';
import { commitRecovery, commitsPerSecond, timelineSvg, type FaultRecord } from '../bench/nemesis-report.js';

/** A commit every `stepMs` in [fromMs, toMs). */
function steady(fromMs: number, toMs: number, stepMs: number): number[] {
  return Array.from({ length: Math.ceil((toMs - fromMs) / stepMs) }, (_, index) => fromMs + index * stepMs);
}

test('commits that stop for a second after the fault resume at the first commit after the gap', (t) => {
  const times = [...steady(0, 5_200, 10), ...steady(6_200, 10_000, 10)];
  const recovery = commitRecovery(times, 5_000, 10_000, 250, 3_000);
  t.is(recovery.resumedAfterMs, 1_200);
  t.is(recovery.longestGapMs, 1_010);
  t.is(Math.round(recovery.rateBeforePerSecond), 100);
  t.is(recovery.halfRateAfterMs, 1_200);
});

test('commits that never stop count as resumed at once; commits that never come back as not resumed', (t) => {
  const steadyTimes = steady(0, 10_000, 10);
  t.is(commitRecovery(steadyTimes, 5_000, 10_000, 250, 3_000).resumedAfterMs, 0);
  const stopped = steady(0, 5_000, 10);
  const recovery = commitRecovery(stopped, 5_000, 10_000, 250, 3_000);
  t.is(recovery.resumedAfterMs, null);
  t.is(recovery.halfRateAfterMs, null);
  t.is(recovery.longestGapMs, 5_000);
  t.is(recovery.rateEndPerSecond, 0);
});

test('a stretch shorter than the gap is no gap', (t) => {
  const times = [...steady(0, 5_100, 10), ...steady(5_300, 10_000, 10)];
  t.is(commitRecovery(times, 5_000, 10_000, 250, 3_000).resumedAfterMs, 0);
});

test('commits per second in buckets: counts scaled to a second, empty buckets kept', (t) => {
  t.deepEqual(commitsPerSecond([10, 20, 260, 900], 250, 1_000), [
    { atMs: 0, perSecond: 8 },
    { atMs: 250, perSecond: 4 },
    { atMs: 500, perSecond: 0 },
    { atMs: 750, perSecond: 4 },
  ]);
});

test('the timeline shades each fault and the checks, labelled, and leaves out a skipped fault', (t) => {
  const base: FaultRecord = {
    kind: 'kill', target: 'MIDDLEWARE2', injectMs: 2_000, healMs: 4_000, windowEndMs: 6_000, checksEndMs: 6_500,
    recovery: null, backAfterHealMs: 500, rejoined: { afterHealMs: 600 }, standingSeen: [], committed: 0, unknown: 0, aborted: 0,
    abortCodes: {}, suspicions: 0, viewsInstalled: 0, transactionsRecovered: 0, notes: [],
    checks: { totalRead: 1, totalExpected: 1, lostAcknowledged: 0, bankProblems: [], replicasIdentical: true, verifyDifferences: [] },
  };
  const svg = timelineSvg({
    title: 'test', subtitle: [], commitTimesMs: steady(0, 8_000, 10), bucketMs: 250, endMs: 8_000,
    records: [base, { ...base, kind: 'partition', target: 'DATABASE2', skipped: 'not root' }],
  });
  t.true(svg.includes('>kill MIDDLEWARE2</text>'));
  t.true(svg.includes('>checks</text>'));
  t.false(svg.includes('partition DATABASE2'));
  t.is(svg.match(/fill-opacity="0.22"/g)?.length, 2);
});
