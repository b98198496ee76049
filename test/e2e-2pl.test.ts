// The transactional conformance suite against the '2pl' strategy.
import test from 'ava';
import { transactionalSuite } from './suites/transactional.js';

transactionalSuite(test, '2pl');
