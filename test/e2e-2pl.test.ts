// The transactional conformance suite against the '2pl' strategy, on real processes:
// 3 middlewares and 3 databases over loopback.
import test from 'ava';
import { TestCluster } from './helpers/cluster.js';
import { processSuite, transactionalSuite } from './suites/transactional.js';

let cluster: TestCluster | undefined;
// A retry budget below the default (60, not 100) keeps a transaction that cannot commit short.
transactionalSuite(test, '2pl', async () => (cluster = await TestCluster.start({ middlewares: 3, databases: 3, strategy: '2pl', middlewareArguments: () => ['--retry-count-max', '60'] })));
processSuite(test, '2pl', () => cluster!);
