// The transactional conformance suite against the 'occ' strategy, on real processes:
// 3 middlewares and 3 databases over loopback.
import test from 'ava';
import { TestCluster } from './helpers/cluster.js';
import { processSuite, transactionalSuite } from './suites/transactional.js';

let cluster: TestCluster | undefined;
// A small retry budget keeps the 2PL case of an absent lock home short.
transactionalSuite(test, 'occ', async () => (cluster = await TestCluster.start({ middlewares: 3, databases: 3, strategy: 'occ', middlewareArguments: () => ['--retry-count-max', '60'] })));
processSuite(test, 'occ', () => cluster!);
