// Paxos safety under a hostile network: several proposers, some restarting as new incarnations
// that have forgotten everything, race over 3 or 5 acceptors that crash and restore from what
// they persisted, while messages are reordered, dropped and duplicated. However the seed plays
// out, at most one view is chosen per epoch, seen both from the acceptors' votes and from what
// the proposers report. SIM_SEED=<seed> replays one seed.
import test from 'ava';
import { Acceptor, type AcceptorEvent, type AcceptorState } from '../view/acceptor.js';
import { ProposerAttempt, type ProposerEffect, type ProposerEvent } from '../view/proposer.js';
import { formatBallot, majorityOf, makeIncarnation, maxBallot, nextBallot, viewsEqual, type Ballot, type View } from '../view/types.js';
import { Random } from './simulation/random.js';
import { seeds } from './simulation/seeds.js';

const EPOCH_MAX = 4;
const STEPS = 3000;
const PROPOSERS = 3;

type Message =
  | { to: 'acceptor'; id: number; from: number; event: AcceptorEvent }
  | { to: 'proposer'; id: number; event: ProposerEvent };

interface ProposerNode {
  id: number;
  boot: number;
  incarnation: string;
  known: View;
  attempt: ProposerAttempt | null;
  /** The highest ballot this life used or was told to beat: the next one goes above it. */
  highest: Ballot | null;
}

interface AcceptorNode {
  acceptor: Acceptor;
  stored: AcceptorState;
}

/** What one seed saw: views chosen per epoch by the acceptors' votes and by the proposers' reports. */
interface Outcome {
  violations: string[];
  chosenEpochs: number;
}

function run(seed: number, acceptorCount: number): Outcome {
  const random = new Random(seed);
  const acceptorIds = Array.from({ length: acceptorCount }, (_, index) => index + 1);
  const initial: View = { epoch: 0, members: [], replicas: acceptorIds, joining: [] };
  const violations: string[] = [];
  const acceptors = new Map<number, AcceptorNode>();
  for (const id of acceptorIds) {
    const acceptor = Acceptor.start(initial);
    acceptors.set(id, { acceptor, stored: acceptor.snapshot() });
  }
  const proposers: ProposerNode[] = Array.from({ length: PROPOSERS }, (_, index) => ({
    id: index + 1,
    boot: 1,
    incarnation: makeIncarnation(1, `n${random.int(0, 9999)}`),
    known: initial,
    attempt: null,
    highest: null,
  }));
  let network: Message[] = [];

  // The acceptors' votes, per epoch and ballot: who accepted, and which view that ballot carried.
  const votes = new Map<string, { view: View; by: Set<number> }>();
  const chosenByVotes = new Map<number, View>();
  const chosenByProposers = new Map<number, View>();

  function choose(record: Map<number, View>, view: View, how: string): void {
    const earlier = record.get(view.epoch);
    const message = `epoch ${view.epoch}: two views chosen (${how}): ${JSON.stringify(earlier)} and ${JSON.stringify(view)}`;
    if (earlier && !viewsEqual(earlier, view) && !violations.includes(message)) violations.push(message);
    if (!earlier) record.set(view.epoch, view);
  }

  function deliverToAcceptor(id: number, from: number, event: AcceptorEvent): void {
    const node = acceptors.get(id)!;
    for (const effect of node.acceptor.handle(event)) {
      switch (effect.type) {
        case 'persist': node.stored = effect.state; break;
        case 'accepted': {
          if (event.type !== 'accept') throw new Error('an accepted answer to something other than an accept');
          const key = `${effect.epoch} ${formatBallot(effect.ballot)}`;
          const vote = votes.get(key) ?? { view: event.view, by: new Set<number>() };
          if (!viewsEqual(vote.view, event.view)) violations.push(`ballot ${key} carried two views`);
          vote.by.add(id);
          votes.set(key, vote);
          if (vote.by.size >= majorityOf(acceptorCount)) choose(chosenByVotes, vote.view, 'by the acceptors\' votes');
          network.push({ to: 'proposer', id: from, event: { ...effect, from: id } });
          break;
        }
        case 'promise':
        case 'refused':
          network.push({ to: 'proposer', id: from, event: { ...effect, from: id } as ProposerEvent });
          break;
      }
    }
  }

  function startAttempt(proposer: ProposerNode): void {
    const ballot = nextBallot(proposer.highest, proposer.id, proposer.incarnation);
    proposer.highest = ballot;
    const proposal: View = {
      epoch: proposer.known.epoch + 1,
      members: [{ id: proposer.id, incarnation: proposer.incarnation }],
      replicas: random.sample(acceptorIds, random.int(1, acceptorCount)).sort((a, b) => a - b),
      joining: [],
    };
    proposer.attempt = new ProposerAttempt({ previous: proposer.known, ballot, proposal, acceptors: acceptorIds });
    effectsOfProposer(proposer, proposer.attempt.start());
  }

  function effectsOfProposer(proposer: ProposerNode, effects: ProposerEffect[]): void {
    for (const effect of effects) {
      switch (effect.type) {
        case 'send-prepare':
          for (const id of effect.to) network.push({ to: 'acceptor', id, from: proposer.id, event: { type: 'prepare', epoch: effect.epoch, ballot: effect.ballot } });
          break;
        case 'send-accept':
          for (const id of effect.to) network.push({ to: 'acceptor', id, from: proposer.id, event: { type: 'accept', epoch: effect.epoch, ballot: effect.ballot, view: effect.view } });
          break;
        case 'send-chosen':
          for (const id of effect.to) network.push({ to: 'acceptor', id, from: proposer.id, event: { type: 'chosen', view: effect.view } });
          break;
        case 'chosen': {
          choose(chosenByProposers, effect.view, `reported by proposer ${proposer.id}`);
          const key = `${effect.view.epoch} ${formatBallot(proposer.attempt!.ballot)}`;
          for (const id of effect.acceptedBy) {
            if (!votes.get(key)?.by.has(id)) violations.push(`proposer ${proposer.id} lists acceptor ${id} as accepting ${key}, which it did not`);
          }
          proposer.known = effect.view;
          proposer.attempt = null;
          for (const id of acceptorIds) network.push({ to: 'acceptor', id, from: proposer.id, event: { type: 'chosen', view: effect.view } });
          break;
        }
        case 'outbid':
          proposer.highest = maxBallot(proposer.highest, effect.ballot);
          proposer.attempt = null;
          break;
        case 'adopt':
          if (effect.view.epoch > proposer.known.epoch) proposer.known = effect.view;
          proposer.attempt = null;
          break;
      }
    }
  }

  for (let step = 0; step < STEPS; step++) {
    const roll = random.next();
    if (roll < 0.02) {
      // An acceptor crashes and restarts from what it persisted; what it held only in memory is gone.
      const node = acceptors.get(random.pick(acceptorIds))!;
      node.acceptor = Acceptor.restore(node.stored);
    } else if (roll < 0.03) {
      // A proposer crashes and comes back as a new incarnation that remembers nothing.
      const proposer = random.pick(proposers);
      proposer.boot += 1;
      proposer.incarnation = makeIncarnation(proposer.boot, `n${random.int(0, 9999)}`);
      proposer.known = initial;
      proposer.attempt = null;
      proposer.highest = null;
      network = network.filter((message) => message.to !== 'proposer' || message.id !== proposer.id);
    } else if (roll < 0.12) {
      const proposer = random.pick(proposers);
      if (proposer.attempt) effectsOfProposer(proposer, proposer.attempt.handle({ type: 'resend' }));
      else if (proposer.known.epoch < EPOCH_MAX) startAttempt(proposer);
    } else if (network.length > 0) {
      const index = random.int(0, network.length - 1);
      const message = network[index]!;
      const duplicated = random.chance(0.1);
      if (!duplicated) network.splice(index, 1);
      if (random.chance(0.15)) continue;
      if (message.to === 'acceptor') deliverToAcceptor(message.id, message.from, message.event);
      else {
        const proposer = proposers[message.id - 1]!;
        if (proposer.attempt) effectsOfProposer(proposer, proposer.attempt.handle(message.event));
      }
    }
  }
  for (const [epoch, view] of chosenByProposers) {
    const byVotes = chosenByVotes.get(epoch);
    if (!byVotes || !viewsEqual(byVotes, view)) violations.push(`epoch ${epoch}: a proposer reported a view the acceptors' votes did not choose`);
  }
  return { violations, chosenEpochs: chosenByVotes.size };
}

for (const acceptorCount of [3, 5]) {
  test(`safety: at most one view is chosen per epoch with ${PROPOSERS} racing proposers and ${acceptorCount} crashing acceptors over a lossy, duplicating, reordering network`, (t) => {
    let chosenEpochs = 0;
    for (const seed of seeds(300)) {
      let outcome: Outcome;
      try {
        outcome = run(seed, acceptorCount);
      } catch (error) {
        // A core's own invariant check (an acceptor told of a second chosen view) fails the seed too.
        outcome = { violations: [String(error)], chosenEpochs: 0 };
      }
      if (outcome.violations.length > 0) {
        t.fail(`seed ${seed} (${acceptorCount} acceptors; replay with SIM_SEED=${seed}):\n${outcome.violations.slice(0, 5).join('\n')}`);
        return;
      }
      chosenEpochs += outcome.chosenEpochs;
    }
    // Safety alone is met by choosing nothing; the runs must also make progress to show anything.
    t.true(chosenEpochs > 300, `only ${chosenEpochs} epochs chosen over all seeds`);
    t.log(`${chosenEpochs} epochs chosen over all seeds`);
  });
}
