// What one DATABASE costs per APPLY, without a cluster around it: the production request
// handling (DatabaseService: admission, fencing, group commit, the recent-commits log, the
// Thomas rule) over LevelDB in a temporary directory, driven in-process by coordinators that
// send bank-like APPLY batches (two accounts each) with watermarks, and a read per APPLY as the
// read phase would. Each coordinator keeps a batch in flight at once, as middlewares do.
//
//   node dist/bench/database-apply.js [--applies 20000] [--coordinators 6] [--batch 2] [--keys 100]
//
// Prints the process's CPU per APPLY (user and system: LevelDB's threads and the syncs are in
// it), the wall time and the syncs. A whole cluster's throughput swings with the machine by
// tens of percent from one run to the next; this stays within a few percent, so a change to the
// database's path can be measured here, alternating runs of the two builds.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DatabaseService, INCARNATION_BEFORE_BOOT, initialView } from '../database/server.js';
import { Storage } from '../database/storage.js';
import { createLogger } from '../runtime/log.js';
import { Acceptor } from '../view/acceptor.js';
import type { Member } from '../view/types.js';
import { bankAccountKey } from './workloads.js';
import { randomInteger, seededRandom } from './random.js';

/** How far behind its newest counter a coordinator's watermark runs (its transactions in flight). */
const WATERMARK_LAG = 30;
/** Middlewares the coordinators take the names of (epoch 0's members). */
const MIDDLEWARES = 3;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      applies: { type: 'string', default: '20000' },
      coordinators: { type: 'string', default: '6' },
      batch: { type: 'string', default: '2' },
      keys: { type: 'string', default: '100' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write('usage: node dist/bench/database-apply.js [--applies 20000] [--coordinators 6] [--batch 2] [--keys 100]\n');
    return;
  }
  const total = positive(values.applies!, '--applies');
  const coordinators = positive(values.coordinators!, '--coordinators');
  const batchSize = positive(values.batch!, '--batch');
  const keyCount = positive(values.keys!, '--keys');
  if (keyCount < 2) throw new Error('--keys must be at least 2');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'occdb-database-apply-'));
  const storage = await Storage.open(dir);
  try {
    const logger = createLogger({ name: 'DATABASE1', level: 'error', console: false });
    const ids = Array.from({ length: MIDDLEWARES }, (_, index) => ({ id: index + 1 }));
    const acceptor = Acceptor.start(initialView({ middlewares: ids, databases: [{ id: 1 }] }));
    const service = new DatabaseService('DATABASE1', storage, logger, () => ({ role: 'database', id: 1, pid: process.pid, ports: {}, uptimeMs: 0 }), acceptor);
    const random = seededRandom(1);
    let counter = 0;
    let sent = 0;

    const coordinate = async (index: number): Promise<void> => {
      const from: Member = { id: (index % MIDDLEWARES) + 1, incarnation: INCARNATION_BEFORE_BOOT };
      while (sent < total) {
        const applies = [];
        for (let inBatch = 0; inBatch < batchSize && sent < total; inBatch++, sent++) {
          counter += 1;
          const debit = randomInteger(random, 0, keyCount - 1);
          const credit = (debit + 1 + randomInteger(random, 0, keyCount - 2)) % keyCount;
          applies.push({ ts: [counter, from.id] as [number, number], writes: [{ key: bankAccountKey(debit), value: counter }, { key: bankAccountKey(credit), value: -counter }] });
        }
        const reads = applies.map(() => service.handle({ id: 0, type: 'db.read', keys: [bankAccountKey(randomInteger(random, 0, keyCount - 1))], from }));
        await Promise.all([service.handle({ id: 0, type: 'db.apply-batch', from, watermark: Math.max(0, counter - WATERMARK_LAG), applies }), ...reads]);
      }
    };

    const cpuBefore = process.cpuUsage();
    const startMs = performance.now();
    await Promise.all(Array.from({ length: coordinators }, (_, index) => coordinate(index)));
    const wallMs = performance.now() - startMs;
    const cpu = process.cpuUsage(cpuBefore);
    process.stdout.write(
      `${total} APPLYs (${coordinators} coordinators, ${batchSize} per batch, ${keyCount} keys) in ${wallMs.toFixed(0)} ms: ` +
        `CPU ${((cpu.user + cpu.system) / total).toFixed(1)} us per APPLY (user ${(cpu.user / total).toFixed(1)}, system ${(cpu.system / total).toFixed(1)}), ` +
        `${storage.syncs} syncs (${(total / storage.syncs).toFixed(1)} APPLYs each)\n`,
    );
  } finally {
    await storage.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function positive(text: string, option: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${option} must be a positive integer, not '${text}'`);
  return value;
}

main().catch((error: unknown) => {
  process.stderr.write(`database-apply: ${(error as Error).message}\n`);
  process.exitCode = 1;
});
