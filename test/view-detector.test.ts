// Failure detection by heartbeats (view/detector.ts), one test per rule: which members are
// watched and from when, what hearing from one does, what a pause of this process does, who is
// suspected and in which order, and when suspicions are worth a proposal.
import test from 'ava';
import { FailureDetector } from '../view/detector.js';

test('detector: a member is suspected once silent for the timeout, counted from when watching began', (t) => {
  const detector = new FailureDetector(1_000);
  detector.watch([2], 100);
  t.deepEqual(detector.suspects(1_099), []);
  t.deepEqual(detector.suspects(1_100), [{ id: 2, silentMs: 1_000 }], 'silent for exactly the timeout is suspected');
});

test('detector: hearing from a member starts its silence again', (t) => {
  const detector = new FailureDetector(1_000);
  detector.watch([2], 0);
  detector.heard(2, 800);
  t.deepEqual(detector.suspects(1_500), []);
  t.deepEqual(detector.suspects(1_800), [{ id: 2, silentMs: 1_000 }]);
});

test('detector: a heartbeat handled late (an older time) does not move the last time heard back', (t) => {
  const detector = new FailureDetector(1_000);
  detector.watch([2], 0);
  detector.heard(2, 900);
  detector.heard(2, 300);
  t.deepEqual(detector.suspects(1_500), []);
});

test('detector: hearing from a member not watched does not start watching it', (t) => {
  const detector = new FailureDetector(1_000);
  detector.watch([2], 0);
  detector.heard(3, 10);
  t.deepEqual(detector.suspects(5_000).map((suspect) => suspect.id), [2]);
});

test('detector: watching again keeps the silence of members still watched, starts new ones from now, and forgets the others', (t) => {
  const detector = new FailureDetector(1_000);
  detector.watch([2, 3], 0);
  detector.watch([2, 4], 600);
  t.deepEqual(detector.suspects(1_000), [{ id: 2, silentMs: 1_000 }], '2 counts from 0, 4 from 600, 3 is no longer watched');
  t.deepEqual(detector.suspects(1_600), [{ id: 2, silentMs: 1_600 }, { id: 4, silentMs: 1_000 }]);
});

test('detector: after this process was not running, every member\'s silence starts again from the time it resumed', (t) => {
  const detector = new FailureDetector(1_000);
  detector.watch([2, 3], 0);
  detector.resumed(5_000);
  t.deepEqual(detector.suspects(5_999), []);
  t.deepEqual(detector.suspects(6_000).map((suspect) => suspect.id), [2, 3]);
});

test('detector: suspects come longest silent first, ties by id', (t) => {
  const detector = new FailureDetector(100);
  detector.watch([5, 3, 4], 0);
  detector.heard(4, 50);
  t.deepEqual(detector.suspects(200), [{ id: 3, silentMs: 200 }, { id: 5, silentMs: 200 }, { id: 4, silentMs: 150 }]);
});

test('detector: no suspect, no proposal', (t) => {
  t.false(FailureDetector.mayPropose(0, 1));
  t.false(FailureDetector.mayPropose(0, 4));
});

test('detector: a member suspecting at most half of the others may propose', (t) => {
  t.true(FailureDetector.mayPropose(1, 2));
  t.true(FailureDetector.mayPropose(2, 4));
  t.true(FailureDetector.mayPropose(1, 3));
});

test('detector: a member suspecting more than half of the others waits for them to act (it may be the one cut off)', (t) => {
  t.false(FailureDetector.mayPropose(2, 2), 'of three middlewares, the one cut off suspects both others');
  t.false(FailureDetector.mayPropose(2, 3));
  t.false(FailureDetector.mayPropose(3, 4));
});

test('detector: a member with a single peer may propose removing it (the databases\' majority decides between the two)', (t) => {
  t.true(FailureDetector.mayPropose(1, 1));
});
