// The middleware life tests name when they send APPLYs and reads to databases by hand.
import { INCARNATION_BEFORE_BOOT } from '../../database/server.js';
import type { RequestLink } from '../../protocol/connection.js';
import type { Member } from '../../view/types.js';

/**
 * MIDDLEWARE1 as epoch 0's view lists it (every cluster file of the tests has one): every
 * database admits its APPLYs and reads until a view without it is accepted.
 */
export const TEST_FROM: Member = { id: 1, incarnation: INCARNATION_BEFORE_BOOT };

/**
 * A member of the view `database` fences by now: for tests that write to the databases of a
 * running cluster by hand, whose middlewares have long replaced epoch 0's places with their lives.
 */
export async function memberNow(database: RequestLink): Promise<Member> {
  const { chosen, accepted } = await database.request({ type: 'db.view' });
  const member = (accepted?.view ?? chosen).members[0];
  if (!member) throw new Error('the view the database fences by has no member');
  return member;
}
