// The sweep's knobs and order: defaults and --quick, one-line refusals of mistaken values,
// and runs interleaved so that every repetition runs every configuration under every
// strategy, each strategy taking each turn.
import test from 'ava';
import { OccdbError } from '../errors/catalogue.js';
import { BENCH_DEFAULTS, resolveBenchOptions } from '../bench/options.js';
import { configurations, planRuns } from '../bench/plan.js';

test('the default sweep is the full one: 4 client counts, 5 skews, 3 strategies, 3 repetitions', (t) => {
  const options = resolveBenchOptions({});
  t.deepEqual(options.clients, [1, 4, 16, 64]);
  t.deepEqual(options.thetas, [0, 0.6, 0.8, 0.9, 0.99]);
  t.deepEqual(options.strategies, ['occ', '2pl', '2pl-nowait']);
  t.is(options.repetitions, 3);
  t.is(options.middlewares, 3);
  t.is(options.databases, 3);
  t.is(options.scheduling, 'batch');
  t.is(planRuns(options).length, (4 + 4 * 5) * 3 * 3);
});

test('--quick is bank and ycsb theta 0 and 0.9 at 16 clients: 27 runs of about 3 seconds', (t) => {
  const options = resolveBenchOptions({ quick: true });
  t.deepEqual(configurations(options).map((configuration) => configuration.key), ['bank/c16', 'ycsb/t0/c16', 'ycsb/t0.9/c16']);
  t.is(planRuns(options).length, 27);
  t.true(options.durationSeconds + options.warmupSeconds <= 3);
});

test('options given on the command line win over --quick', (t) => {
  const options = resolveBenchOptions({ quick: true, clients: '4,1', theta: '0.5', workloads: 'ycsb' });
  t.deepEqual(options.clients, [1, 4]);
  t.deepEqual(options.thetas, [0.5]);
  t.deepEqual(options.workloads, ['ycsb']);
  t.is(options.durationSeconds, 2.5);
  t.is(resolveBenchOptions({ quick: true, scheduling: 'normal' }).scheduling, 'normal');
});

test('every repetition runs every configuration under every strategy before the next repetition', (t) => {
  const options = { ...BENCH_DEFAULTS, clients: [4, 16], thetas: [0, 0.9] };
  const runs = planRuns(options);
  const perRepetition = runs.length / options.repetitions;
  for (let repetition = 0; repetition < options.repetitions; repetition += 1) {
    const slice = runs.slice(repetition * perRepetition, (repetition + 1) * perRepetition);
    t.true(slice.every((run) => run.repetition === repetition));
    t.is(new Set(slice.map((run) => `${run.configuration.key} ${run.strategy}`)).size, perRepetition);
  }
  // Strategies of one configuration run back to back, never one strategy's configurations first.
  for (let index = 0; index < runs.length; index += 3) {
    const group = runs.slice(index, index + 3);
    t.is(new Set(group.map((run) => run.configuration.key)).size, 1);
    t.deepEqual(group.map((run) => run.strategy).sort(), ['2pl', '2pl-nowait', 'occ']);
  }
  t.deepEqual(runs.map((run) => run.index), runs.map((_, index) => index));
});

test('over three repetitions each strategy goes first, second and third once for a configuration', (t) => {
  const runs = planRuns({ ...BENCH_DEFAULTS, workloads: ['bank'], clients: [16] });
  const positions = new Map<string, number[]>();
  runs.forEach((run, index) => positions.set(run.strategy, [...(positions.get(run.strategy) ?? []), index % 3]));
  for (const list of positions.values()) t.deepEqual([...list].sort(), [0, 1, 2]);
});

test('mistaken values are refused with a one-line usage message naming the option', (t) => {
  const refused = (raw: Parameters<typeof resolveBenchOptions>[0], pattern: RegExp): void => {
    const error = t.throws(() => resolveBenchOptions(raw), { instanceOf: OccdbError });
    t.is(error?.code, 'USAGE');
    t.regex(error?.message ?? '', pattern);
    t.false(error?.message.includes('\n'));
  };
  refused({ repetitions: '2' }, /--repetitions: '2' must be an integer from 3/);
  refused({ theta: '0,1' }, /--theta: '1' must be at least 0 and below 1/);
  refused({ clients: '4,,16' }, /--clients takes a comma-separated list/);
  refused({ clients: '0' }, /--clients: '0'/);
  refused({ strategies: 'occ,mvcc' }, /--strategies: 'mvcc' is not one of occ, 2pl, 2pl-nowait/);
  refused({ readFraction: '1.5' }, /--read-fraction/);
  refused({ durationSeconds: 'soon' }, /--duration-seconds: 'soon' is not a number/);
  refused({ warmupSeconds: '-1' }, /--warmup-seconds/);
  refused({ ops: '20000' }, /--ops/);
  refused({ scheduling: 'realtime' }, /--scheduling: 'realtime' is not one of batch, normal/);
});
