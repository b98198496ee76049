// The transactional conformance suite against the '2pl-nowait' strategy.
import test from 'ava';
import { transactionalSuite } from './suites/transactional.js';

transactionalSuite(test, '2pl-nowait');
