// The two workloads, as command-language text: what each measured transaction does, the
// transactions that (re)create the data before a run, and the read-back that checks the data
// after it. Everything here is pure: randomness comes in as a Random.
import { type Random, randomInteger } from './random.js';
import { ZipfianGenerator } from './zipf.js';

export const WORKLOAD_KINDS = ['bank', 'ycsb'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export const BANK_ACCOUNT_COUNT = 100;
export const BANK_BALANCE_INITIAL = 1000;
export const BANK_TRANSFER_AMOUNT_MAX = 10;

export const YCSB_KEY_COUNT = 10_000;
/** ASSIGNs (or PRINTs) per transaction when the ycsb keys are created or read back. */
export const YCSB_BATCH_KEYS = 500;

export type WorkloadSpec =
  | { kind: 'bank' }
  | { kind: 'ycsb'; theta: number; operationsPerTransaction: number; readFraction: number };

/** One measured transaction: its text, and how many increments it commits if it commits. */
export interface DrawnTransaction {
  text: string;
  incrementCount: number;
}

export interface Workload {
  readonly spec: WorkloadSpec;
  /** Transactions that give every key of the workload its initial value. */
  setupTransactions(): string[];
  /** The next transaction of a closed-loop client. */
  next(random: Random): DrawnTransaction;
  /** Transactions whose PRINTs are every value of the workload, in key order. */
  readBackTransactions(): string[];
  /**
   * Checks the read-back values. `incrementsCommitted` counts increments of transactions
   * known to have committed; `incrementsInDoubt` those of transactions whose outcome the
   * client never learnt. Returns what is wrong, or null.
   */
  check(values: readonly number[], incrementsCommitted: number, incrementsInDoubt: number): string | null;
}

export function bankAccountKey(index: number): string {
  return `acct${index}`;
}

export function ycsbKey(rank: number): string {
  return `key${rank}`;
}

/** Moves 1..10 between two distinct accounts: the total of all accounts never changes. */
export function bankTransferText(random: Random, accountCount = BANK_ACCOUNT_COUNT): string {
  const from = randomInteger(random, 0, accountCount - 1);
  // Drawing from the other accountCount - 1 accounts keeps the pair distinct without a retry loop.
  const to = (from + randomInteger(random, 1, accountCount - 1)) % accountCount;
  const amount = randomInteger(random, 1, BANK_TRANSFER_AMOUNT_MAX);
  const fromKey = bankAccountKey(from);
  const toKey = bankAccountKey(to);
  return `ADD ${fromKey} ${fromKey} -${amount}\nADD ${toKey} ${toKey} ${amount}\n`;
}

/** Attempts at drawing a key not yet in the transaction, per key, before taking the next free one. */
const DISTINCT_DRAW_ATTEMPTS_MAX = 1000;

/**
 * `count` distinct ranks from `generator`. A rank already drawn is drawn again; under very
 * heavy skew that could take long, so after a bounded number of attempts the next unused
 * rank is taken instead (it never happens for the sizes the benchmark uses).
 */
export function distinctRanks(generator: ZipfianGenerator, count: number, random: Random): number[] {
  if (count > generator.itemCount) throw new RangeError(`cannot draw ${count} distinct keys from ${generator.itemCount}`);
  const ranks: number[] = [];
  const drawn = new Set<number>();
  while (ranks.length < count) {
    let rank = -1;
    for (let attempt = 0; attempt < DISTINCT_DRAW_ATTEMPTS_MAX; attempt += 1) {
      const candidate = generator.next(random);
      if (!drawn.has(candidate)) {
        rank = candidate;
        break;
      }
    }
    if (rank < 0) {
      rank = 0;
      while (drawn.has(rank)) rank += 1;
    }
    drawn.add(rank);
    ranks.push(rank);
  }
  return ranks;
}

/** `operationsPerTransaction` distinct keys, each read (PRINT) with probability readFraction, else incremented. */
export function ycsbTransaction(generator: ZipfianGenerator, operationsPerTransaction: number, readFraction: number, random: Random): DrawnTransaction {
  let text = '';
  let incrementCount = 0;
  for (const rank of distinctRanks(generator, operationsPerTransaction, random)) {
    const key = ycsbKey(rank);
    if (random() < readFraction) {
      text += `PRINT ${key}\n`;
    } else {
      text += `ADD ${key} ${key} 1\n`;
      incrementCount += 1;
    }
  }
  return { text, incrementCount };
}

/** Lines for keys [0, keyCount), `batchKeys` to a transaction. */
function batched(keyCount: number, batchKeys: number, line: (index: number) => string): string[] {
  const transactions: string[] = [];
  for (let first = 0; first < keyCount; first += batchKeys) {
    let text = '';
    for (let index = first; index < Math.min(first + batchKeys, keyCount); index += 1) text += line(index);
    transactions.push(text);
  }
  return transactions;
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

export function bankWorkload(accountCount = BANK_ACCOUNT_COUNT): Workload {
  const totalExpected = accountCount * BANK_BALANCE_INITIAL;
  return {
    spec: { kind: 'bank' },
    // One transaction, so that no reader can ever see a half-set-up bank.
    setupTransactions: () => batched(accountCount, accountCount, (index) => `ASSIGN ${bankAccountKey(index)} ${BANK_BALANCE_INITIAL}\n`),
    next: (random) => ({ text: bankTransferText(random, accountCount), incrementCount: 0 }),
    // One transaction as well: the total is only meaningful in one snapshot.
    readBackTransactions: () => batched(accountCount, accountCount, (index) => `PRINT ${bankAccountKey(index)}\n`),
    check: (values) => {
      if (values.length !== accountCount) return `the read-back printed ${values.length} balances, not ${accountCount}`;
      const total = sum(values);
      return total === totalExpected ? null : `the bank total is ${total}, not ${totalExpected}: money was created or lost`;
    },
  };
}

export function ycsbWorkload(spec: Extract<WorkloadSpec, { kind: 'ycsb' }>, keyCount = YCSB_KEY_COUNT, batchKeys = YCSB_BATCH_KEYS): Workload {
  const generator = new ZipfianGenerator(keyCount, spec.theta);
  return {
    spec,
    setupTransactions: () => batched(keyCount, batchKeys, (index) => `ASSIGN ${ycsbKey(index)} 0\n`),
    next: (random) => ycsbTransaction(generator, spec.operationsPerTransaction, spec.readFraction, random),
    readBackTransactions: () => batched(keyCount, batchKeys, (index) => `PRINT ${ycsbKey(index)}\n`),
    check: (values, incrementsCommitted, incrementsInDoubt) => {
      if (values.length !== keyCount) return `the read-back printed ${values.length} values, not ${keyCount}`;
      // Every key starts at 0 and only committed increments add to it, one each.
      const total = sum(values);
      if (total < incrementsCommitted) return `the keys sum to ${total}, but ${incrementsCommitted} increments committed: committed writes were lost`;
      if (total > incrementsCommitted + incrementsInDoubt) {
        return `the keys sum to ${total}, more than the ${incrementsCommitted} committed increments${incrementsInDoubt > 0 ? ` and ${incrementsInDoubt} in doubt` : ''}: writes of transactions that did not commit were kept`;
      }
      return null;
    },
  };
}

export function workloadFor(spec: WorkloadSpec): Workload {
  return spec.kind === 'bank' ? bankWorkload() : ycsbWorkload(spec);
}

/** A short human name: `bank`, `ycsb theta=0.9 ops=4 reads=0.5`. */
export function describeWorkload(spec: WorkloadSpec): string {
  return spec.kind === 'bank' ? 'bank' : `ycsb theta=${spec.theta} ops=${spec.operationsPerTransaction} reads=${spec.readFraction}`;
}
