// The transactional conformance suite against the 'occ' strategy.
import test from 'ava';
import { transactionalSuite } from './suites/transactional.js';

transactionalSuite(test, 'occ');
