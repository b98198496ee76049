// The workloads' command text: it parses in the project's own command language, the bank
// transfer conserves money between two distinct accounts, ycsb transactions use distinct
// keys with the asked mix of reads and increments, and the read-back checks tell a sound
// result from a broken one.
import test from 'ava';
import { parseCommandFile } from '../client/parser.js';
import type { Command } from '../protocol/schemas.js';
import { seededRandom } from '../bench/random.js';
import {
  BANK_ACCOUNT_COUNT,
  BANK_BALANCE_INITIAL,
  BANK_TRANSFER_AMOUNT_MAX,
  YCSB_BATCH_KEYS,
  YCSB_KEY_COUNT,
  bankTransferText,
  bankWorkload,
  distinctRanks,
  ycsbTransaction,
  ycsbWorkload,
} from '../bench/workloads.js';
import { ZipfianGenerator } from '../bench/zipf.js';

/** The commands of text that must be one transaction. */
function commandsOf(t: { is: (a: unknown, b: unknown) => void }, text: string): Command[] {
  const blocks = parseCommandFile(text, 'workload');
  t.is(blocks.length, 1);
  return blocks[0]!.commands;
}

test('a bank transfer takes 1..10 from one account and adds it to another, distinct, account', (t) => {
  const random = seededRandom(5);
  const amounts = new Set<number>();
  for (let draw = 0; draw < 2_000; draw += 1) {
    const commands = commandsOf(t, bankTransferText(random));
    t.is(commands.length, 2);
    const [debit, credit] = commands;
    if (debit?.op !== 'ADD' || credit?.op !== 'ADD') return t.fail('a transfer is two ADDs');
    t.is(debit.left, debit.target);
    t.is(credit.left, credit.target);
    t.not(debit.target, credit.target);
    t.is((debit.right as number) + (credit.right as number), 0);
    const amount = credit.right as number;
    t.true(amount >= 1 && amount <= BANK_TRANSFER_AMOUNT_MAX);
    amounts.add(amount);
    for (const key of [debit.target, credit.target]) t.regex(key, /^acct(\d|[1-9]\d)$/);
  }
  t.is(amounts.size, BANK_TRANSFER_AMOUNT_MAX);
});

test('the bank example text has the documented shape', (t) => {
  t.regex(bankTransferText(seededRandom(1)), /^ADD (acct\d+) \1 -(\d+)\nADD (acct\d+) \3 \2\n$/);
});

test('the bank is set up and read back in one transaction each, over all 100 accounts', (t) => {
  const bank = bankWorkload();
  const [setup, ...moreSetup] = bank.setupTransactions();
  t.is(moreSetup.length, 0);
  const assigns = commandsOf(t, setup!);
  t.is(assigns.length, BANK_ACCOUNT_COUNT);
  t.true(assigns.every((command) => command.op === 'ASSIGN' && command.source === BANK_BALANCE_INITIAL));
  const [readBack, ...moreReads] = bank.readBackTransactions();
  t.is(moreReads.length, 0);
  t.is(commandsOf(t, readBack!).filter((command) => command.op === 'PRINT').length, BANK_ACCOUNT_COUNT);
});

test('the bank check passes an unchanged total and names money created or lost', (t) => {
  const bank = bankWorkload();
  const balances = new Array<number>(BANK_ACCOUNT_COUNT).fill(BANK_BALANCE_INITIAL);
  balances[3] = 990;
  balances[7] = 1010;
  t.is(bank.check(balances, 0, 0), null);
  balances[7] = 1011;
  t.regex(bank.check(balances, 0, 0) ?? '', /total is 100001/);
  t.regex(bank.check(balances.slice(1), 0, 0) ?? '', /99 balances/);
});

test('a ycsb transaction has the asked number of distinct keys, each a PRINT or an ADD of 1', (t) => {
  const generator = new ZipfianGenerator(YCSB_KEY_COUNT, 0.99);
  const random = seededRandom(9);
  let reads = 0;
  let operations = 0;
  for (let draw = 0; draw < 2_000; draw += 1) {
    const { text, incrementCount } = ycsbTransaction(generator, 4, 0.5, random);
    const commands = commandsOf(t, text);
    t.is(commands.length, 4);
    const keys = commands.map((command) => (command.op === 'PRINT' ? command.source : command.op === 'ADD' ? command.target : null));
    t.is(new Set(keys).size, 4);
    for (const command of commands) {
      if (command.op === 'ADD') t.true(command.left === command.target && command.right === 1);
      else t.is(command.op, 'PRINT');
    }
    t.is(incrementCount, commands.filter((command) => command.op === 'ADD').length);
    reads += commands.filter((command) => command.op === 'PRINT').length;
    operations += commands.length;
  }
  // 8,000 operations at probability 0.5: well within 5 standard deviations (about 3%).
  t.true(Math.abs(reads / operations - 0.5) < 0.03);
});

test('read fraction 0 gives only increments and 1 only reads', (t) => {
  const generator = new ZipfianGenerator(100, 0);
  const random = seededRandom(3);
  t.is(ycsbTransaction(generator, 5, 0, random).text.match(/^ADD /gm)?.length, 5);
  t.is(ycsbTransaction(generator, 5, 1, random).text.match(/^PRINT /gm)?.length, 5);
});

test('distinct keys can be drawn even when they are as many as the keys there are', (t) => {
  const ranks = distinctRanks(new ZipfianGenerator(8, 0.99), 8, seededRandom(1));
  t.deepEqual([...ranks].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7]);
  t.throws(() => distinctRanks(new ZipfianGenerator(8, 0.5), 9, seededRandom(1)), { instanceOf: RangeError });
});

test('ycsb keys are created and read back in batches covering every key once', (t) => {
  const ycsb = ycsbWorkload({ kind: 'ycsb', theta: 0, operationsPerTransaction: 4, readFraction: 0.5 });
  const setup = ycsb.setupTransactions();
  t.is(setup.length, YCSB_KEY_COUNT / YCSB_BATCH_KEYS);
  const assigned = setup.flatMap((text) => commandsOf(t, text)).map((command) => (command.op === 'ASSIGN' ? command.target : ''));
  t.is(new Set(assigned).size, YCSB_KEY_COUNT);
  const printed = ycsb.readBackTransactions().flatMap((text) => commandsOf(t, text));
  t.is(printed.length, YCSB_KEY_COUNT);
});

test('the ycsb check wants the keys to sum to the committed increments, allowing those in doubt', (t) => {
  const ycsb = ycsbWorkload({ kind: 'ycsb', theta: 0.9, operationsPerTransaction: 4, readFraction: 0.5 }, 4, 2);
  t.is(ycsb.check([1, 2, 0, 3], 6, 0), null);
  t.is(ycsb.check([1, 2, 0, 4], 6, 2), null);
  t.regex(ycsb.check([1, 2, 0, 2], 6, 0) ?? '', /lost/);
  t.regex(ycsb.check([1, 2, 0, 9], 6, 2) ?? '', /did not commit/);
  t.regex(ycsb.check([1, 2, 0], 3, 0) ?? '', /3 values, not 4/);
});

test('the same seed draws the same transactions', (t) => {
  const ycsb = ycsbWorkload({ kind: 'ycsb', theta: 0.6, operationsPerTransaction: 4, readFraction: 0.5 });
  const draw = (seed: number): string[] => {
    const random = seededRandom(seed);
    return Array.from({ length: 20 }, () => ycsb.next(random).text);
  };
  t.deepEqual(draw(11), draw(11));
});
