// A middleware's lives. Each start is a new incarnation "<boot>.<nonce>": the boot counter kept
// in the middleware's directory, plus one, written and synced before the life begins, so a
// later life always compares higher; and a random nonce, so two lives never share a name even
// if the directory (and its counter) was lost. A removed life that is still running (it was
// paused, or cut off) takes a new incarnation the same way before it rejoins.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { OccdbError } from '../errors/catalogue.js';
import { makeIncarnation, type Incarnation } from '../view/types.js';

export const INCARNATION_FILE = 'incarnation';

/** The next life of the middleware whose directory is `dir`; the counter is durable before this returns. */
export function nextIncarnation(dir: string): Incarnation {
  const file = path.join(dir, INCARNATION_FILE);
  const boot = readBootCounter(file);
  const next = boot + 1;
  try {
    const temporary = `${file}.${process.pid}.tmp`;
    const descriptor = fs.openSync(temporary, 'w', 0o600);
    try {
      fs.writeSync(descriptor, `${next}\n`);
      fs.fsyncSync(descriptor);
    } finally {
      fs.closeSync(descriptor);
    }
    fs.renameSync(temporary, file);
    syncDirectory(dir);
  } catch (error) {
    throw new OccdbError('STORAGE_UNAVAILABLE', `cannot write the boot counter ${file}: ${(error as Error).message}`);
  }
  return makeIncarnation(next, crypto.randomBytes(4).toString('hex'));
}

/** The boot counter in `file`; 0 when there is none yet (the first start). */
function readBootCounter(file: string): number {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8').trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw new OccdbError('STORAGE_UNAVAILABLE', `cannot read the boot counter ${file}: ${(error as Error).message}`);
  }
  if (!/^\d+$/.test(text)) throw new OccdbError('STORAGE_UNAVAILABLE', `${file} does not hold a boot counter (found ${JSON.stringify(text.slice(0, 20))}); remove it to start counting again`);
  return Number(text);
}

/** Makes the rename durable: the directory entry is synced too. */
function syncDirectory(dir: string): void {
  const descriptor = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(descriptor);
  } finally {
    fs.closeSync(descriptor);
  }
}
