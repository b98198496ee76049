// What report 2 is made of: the properties it demonstrates, in order, and the ava test files
// it runs, with which of their tests bear on which property. A test is placed by its title;
// a test no rule places is still run, counted and listed (under "Other tests"), never dropped.

export const REPORT_PROPERTIES = ['atomicity', 'consistency', 'isolation', 'durability', 'deadlock-freedom', 'failures', 'performance'] as const;
export type ReportProperty = (typeof REPORT_PROPERTIES)[number];

export const PROPERTY_TITLES: Record<ReportProperty, string> = {
  atomicity: 'Atomicity',
  consistency: 'Consistency',
  isolation: 'Isolation',
  durability: 'Durability',
  'deadlock-freedom': 'Absence of deadlocks',
  failures: 'Failures',
  performance: 'Performance',
};

/** What each property means here, in one sentence, before its evidence. */
export const PROPERTY_CLAIMS: Record<ReportProperty, string> = {
  atomicity: 'A transaction\'s writes become visible all together or not at all: an error that is not IGNOREd rolls back every earlier write of its transaction, and no reader ever sees part of one.',
  consistency: 'Every committed transaction takes the data from one valid state to another (invariants such as a constant bank total hold whatever runs concurrently), and every replica ends with the same keys, versions and values.',
  isolation: 'Concurrent transactions give the result of running them one at a time in some order that also respects real time (strict serializability): no lost update, dirty read, non-repeatable read or write skew.',
  durability: 'Once a commit has been acknowledged to the client it survives crashes: every replica applied it as one batch synced to disk before the acknowledgement.',
  'deadlock-freedom': 'No set of transactions can wait for each other forever. The optimistic strategy takes no locks; its only wait (a deferred vote) always waits for a smaller timestamp. The 2PL baseline prevents deadlock with wait-die (or no-wait).',
  failures: 'A middleware or a database that crashes, stops or is cut off the network, and comes back, costs no acknowledged transaction and breaks no invariant: the bank total holds, every transfer the client was told committed is on every replica, and the replicas end identical. And the cluster recovers: the commits resume, and the process answers again once healed.',
  performance: 'No transaction should wait longer than it must. Measured: throughput, restarts and latency of the optimistic strategy against strict two-phase locking (wait-die and no-wait), on the same cluster, workloads and machine, as contention grows.',
};

export interface TestRule {
  property: ReportProperty;
  /** Tests whose title matches; absent means every test of the file. */
  title?: RegExp;
}

export interface TestFileSpec {
  /** `occ-core` for test/occ-core.test.ts, run as dist/test/occ-core.test.js. */
  name: string;
  rules: TestRule[];
}

export const TEST_FILES: readonly TestFileSpec[] = [
  {
    name: 'database-durability',
    rules: [
      { property: 'durability' },
      // One APPLY is one LevelDB batch: a crash inside it leaves all of it or none.
      { property: 'atomicity', title: /interrupted by SIGKILL/ },
    ],
  },
  { name: 'occ-core', rules: [{ property: 'isolation' }] },
  { name: 'e2e-history', rules: [{ property: 'isolation' }] },
  {
    name: 'simulation',
    rules: [
      { property: 'isolation' },
      { property: 'consistency', title: /replicas converge/ },
    ],
  },
  // The OCC read path against the pure core: which reads wait, which come from memory, and
  // that a read records the version it saw (what validation relies on).
  { name: 'occ-read-path', rules: [{ property: 'isolation' }] },
  { name: 'twopl-lock-table', rules: [{ property: 'deadlock-freedom' }] },
  {
    name: 'twopl-simulation',
    rules: [
      { property: 'isolation' },
      { property: 'consistency', title: /converge|Thomas/ },
    ],
  },
  // The conformance suite on real processes, and in one process over a seeded in-memory network.
  ...['e2e-occ', 'e2e-2pl', 'e2e-2pl-nowait', 'in-process-occ', 'in-process-2pl', 'in-process-2pl-nowait'].map((name): TestFileSpec => ({
    name,
    rules: [
      { property: 'atomicity', title: /classic example|failing transaction leaves nothing behind/ },
      { property: 'isolation', title: /counter ends at exactly N|never sees half/ },
      { property: 'consistency', title: /^bank:/ },
      { property: 'deadlock-freedom', title: /opposite order/ },
    ],
  })),
];

/**
 * The properties a test bears on, by its file's rules, in the order of the rules: the first
 * is the one whose section shows the test's output. Empty for none.
 */
export function propertiesOf(spec: TestFileSpec, title: string): ReportProperty[] {
  const found: ReportProperty[] = [];
  for (const rule of spec.rules) {
    if ((rule.title === undefined || rule.title.test(title)) && !found.includes(rule.property)) found.push(rule.property);
  }
  return found;
}

/** Scenarios of one property are shown in this order (the classic anomalies first); others follow by name. */
export const SCENARIO_ORDER = ['atomicity', 'read-only-consistency', 'lost-update', 'dirty-read', 'non-repeatable-read', 'write-skew', 'durability', 'deadlock'];

/** A scenario's place in SCENARIO_ORDER; unlisted ones after the listed. */
export function scenarioRank(name: string): number {
  const index = SCENARIO_ORDER.indexOf(name);
  return index < 0 ? SCENARIO_ORDER.length : index;
}

export function byScenarioOrder(a: string, b: string): number {
  return scenarioRank(a) - scenarioRank(b) || a.localeCompare(b);
}

/** Where a test file's output and the files it is built from live, relative to the project root. */
export function testOutputFile(name: string): string {
  return `reports/results/tests-${name}.txt`;
}

export function testSourceFile(name: string): string {
  return `test/${name}.test.ts`;
}

export function testCompiledFile(name: string): string {
  return `dist/test/${name}.test.js`;
}
