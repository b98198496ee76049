// The scheduling policy a process sets for itself at start (Linux, as CI is): every thread
// gets it, and `normal` undoes a batch policy inherited from whatever started the process.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SCHEDULING_MODULE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../runtime/scheduling.js');
const CHILD_TIMEOUT_MS = 20_000;

/**
 * Runs a fresh Node process (under `chrt --batch` when `startBatch`) that applies `policy` to
 * itself (unless null) and prints its log sentence, then the policies of all its threads (field 41 of
 * /proc/self/task/<tid>/stat: 0 is SCHED_OTHER, 3 is SCHED_BATCH).
 */
function policiesAfter(policy: string | null, startBatch: boolean): { sentence: string; policies: string[] } {
  const script = [
    `const { applySchedulingPolicy } = await import(${JSON.stringify(SCHEDULING_MODULE)});`,
    `const fs = await import('node:fs');`,
    policy === null ? `console.log('nothing applied');` : `console.log(applySchedulingPolicy(${JSON.stringify(policy)}));`,
    `const policies = fs.readdirSync('/proc/self/task').map((tid) => fs.readFileSync('/proc/self/task/' + tid + '/stat', 'utf8').split(') ')[1].split(' ')[41 - 3]);`,
    `console.log([...new Set(policies)].join(','));`,
  ].join('\n');
  const command = startBatch ? 'chrt' : process.execPath;
  const args = [...(startBatch ? ['--batch', '0', process.execPath] : []), '--input-type=module', '-e', script];
  const [sentence = '', policies = ''] = execFileSync(command, args, { encoding: 'utf8', timeout: CHILD_TIMEOUT_MS }).trim().split('\n');
  return { sentence, policies: policies.split(',') };
}

test('batch puts every thread of the process under SCHED_BATCH', (t) => {
  const { sentence, policies } = policiesAfter('batch', false);
  t.is(sentence, 'scheduling policy: batch (SCHED_BATCH)');
  t.deepEqual(policies, ['3']);
});

test('normal puts every thread back under SCHED_OTHER when the process was started under SCHED_BATCH', (t) => {
  t.deepEqual(policiesAfter(null, true).policies, ['3'], 'a process started under chrt --batch inherits it');
  const { sentence, policies } = policiesAfter('normal', true);
  t.is(sentence, 'scheduling policy: normal (SCHED_OTHER)');
  t.deepEqual(policies, ['0']);
});
