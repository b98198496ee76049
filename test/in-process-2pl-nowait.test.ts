// The transactional conformance suite against the '2pl-nowait' strategy, in one process: the
// production engines, replica sets, database services and client loop, with in-memory stores
// and a seeded in-memory network (test/helpers/in-process-cluster.ts). The seed is printed;
// replay one with IN_PROCESS_SEED=<seed>.
import test from 'ava';
import { InProcessCluster } from './helpers/in-process-cluster.js';
import { transactionalSuite } from './suites/transactional.js';

const seed = process.env.IN_PROCESS_SEED ? Number(process.env.IN_PROCESS_SEED) : (Date.now() ^ (process.pid << 16)) >>> 0;
test.before((t) => t.log(`network seed ${seed} (replay with IN_PROCESS_SEED=${seed})`));
transactionalSuite(test, '2pl-nowait', () => InProcessCluster.start({ middlewares: 3, databases: 3, strategy: '2pl-nowait', seed, retryCountMax: 60 }));
