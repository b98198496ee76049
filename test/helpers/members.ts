// The middleware life tests name when they send APPLYs and reads to databases by hand.
import { INCARNATION_BEFORE_BOOT } from '../../database/server.js';
import type { Member } from '../../view/types.js';

/**
 * MIDDLEWARE1 as epoch 0's view lists it (every cluster file of the tests has one): every
 * database admits its APPLYs and reads until a view without it is accepted.
 */
export const TEST_FROM: Member = { id: 1, incarnation: INCARNATION_BEFORE_BOOT };
