// Checks what a scenario run produced against its manifest's `expect`: pure functions of the
// observation, so every rule here is tested without a cluster. Each expectation gives one
// result with what was expected, what was seen, and (on failure) why.
import { isDeepStrictEqual } from 'node:util';
import { plural } from '../startup/output.js';
import type { Expect, FinalState, Invariant, Outcome, OutputExpectation } from './manifest.js';
import type { EntryReading, ExpectationResult, MiddlewareReading, ReplicaComparison } from './report.js';

/** What a run produced, as far as the expectations look at it. */
export interface Observation {
  /** Each client's classic output and exit code, by client name; a client that never ran is absent. */
  clients: Map<string, { output: string; exitCode: number }>;
  /** What each middleware read at the end, by middleware name. */
  finalByMiddleware: Record<string, MiddlewareReading>;
  replicas: ReplicaComparison | null;
}

/** Every expectation `expect` gives, in a fixed order, each with its fields in a fixed order. */
export function evaluate(expect: Expect, observation: Observation): ExpectationResult[] {
  return evaluateAll(expect, observation).map(({ id, description, pass, expected, seen, detail }) => ({ id, description, pass, expected, seen, ...(detail !== undefined ? { detail } : {}) }));
}

function evaluateAll(expect: Expect, observation: Observation): ExpectationResult[] {
  const results: ExpectationResult[] = [];
  for (const [name, expected] of Object.entries(expect.exitCodes ?? {})) {
    const seen = observation.clients.get(name)?.exitCode;
    results.push({ id: `exitCode.${name}`, description: `exit code of ${name}`, pass: seen === expected, expected, seen: seen ?? 'did not run' });
  }
  for (const [name, expected] of Object.entries(expect.outputs ?? {})) {
    results.push(checkOutput(name, expected, observation.clients.get(name)?.output));
  }
  if (expect.final !== undefined) {
    if (Array.isArray(expect.final)) results.push(checkFinalOneOf(expect.final, observation.finalByMiddleware));
    else for (const [key, expected] of Object.entries(expect.final)) results.push(checkFinalEntry(key, expected, observation.finalByMiddleware));
  }
  (expect.invariants ?? []).forEach((invariant, index) => results.push(checkInvariant(index, invariant, observation.finalByMiddleware)));
  if (expect.oneOf !== undefined) results.push(checkOneOf(expect.oneOf, observation));
  if (expect.middlewaresAgree === true) results.push(checkMiddlewaresAgree(observation.finalByMiddleware));
  if (expect.replicasAgree === true) results.push(checkReplicasAgree(observation.replicas));
  return results;
}

// ---- outputs ----

function checkOutput(name: string, expected: OutputExpectation, seen: string | undefined): ExpectationResult {
  const base = { id: `output.${name}`, seen: seen ?? 'did not run' };
  if (expected.exact !== undefined) {
    return { ...base, description: `output of ${name}`, expected: expected.exact, pass: seen === expected.exact };
  }
  if (expected.oneOf !== undefined) {
    const index = seen === undefined ? -1 : expected.oneOf.indexOf(seen);
    return {
      ...base,
      description: `output of ${name} is one of ${expected.oneOf.length}`,
      expected: expected.oneOf,
      pass: index >= 0,
      ...(index >= 0 ? { detail: `the ${ordinal(index + 1)}` } : {}),
    };
  }
  if (expected.lines !== undefined) {
    const problem = seen === undefined ? 'the client did not run' : linesProblem(expected.lines, seen);
    return { ...base, description: `output of ${name} matches ${expected.lines.length} line patterns`, expected: expected.lines, pass: problem === null, ...(problem ? { detail: problem } : {}) };
  }
  const { groupSize, equals } = expected.groupSums!;
  const problem = seen === undefined ? 'the client did not run' : groupSumsProblem(groupSize, equals, seen);
  return {
    ...base,
    description: `output of ${name}: every ${groupSize} consecutive lines sum to ${equals}`,
    expected: { groupSums: { groupSize, equals } },
    pass: problem === null,
    ...(problem ? { detail: problem } : {}),
  };
}

function outputLines(output: string): string[] {
  const lines = output.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function linesProblem(patterns: readonly string[], output: string): string | null {
  const lines = outputLines(output);
  if (lines.length !== patterns.length) return `${lines.length} lines, expected ${patterns.length}`;
  for (const [index, pattern] of patterns.entries()) {
    if (!new RegExp(`^(?:${pattern})$`).test(lines[index]!)) return `line ${index + 1} ${JSON.stringify(lines[index])} does not match /${pattern}/`;
  }
  return null;
}

function groupSumsProblem(groupSize: number, equals: number, output: string): string | null {
  const lines = outputLines(output);
  if (lines.length === 0) return 'no output';
  if (lines.length % groupSize !== 0) return `${lines.length} lines is not a whole number of groups of ${groupSize}`;
  for (let start = 0; start < lines.length; start += groupSize) {
    const group = lines.slice(start, start + groupSize);
    if (!group.every((line) => /^-?\d+$/.test(line))) return `lines ${start + 1}-${start + groupSize} are not all integers: ${JSON.stringify(group)}`;
    const sum = group.reduce((total, line) => total + Number(line), 0);
    if (sum !== equals) return `lines ${start + 1}-${start + groupSize} (${group.join(' + ')}) sum to ${sum}`;
  }
  return null;
}

// ---- the final state ----

/** Each middleware's value of `key` (or its read error). */
function readingsOf(key: string, byMiddleware: Record<string, MiddlewareReading>): Record<string, EntryReading | { error: string }> {
  const readings: Record<string, EntryReading | { error: string }> = {};
  for (const [middleware, reading] of Object.entries(byMiddleware)) readings[middleware] = 'error' in reading ? { error: reading.error } : (reading.state[key] ?? null);
  return readings;
}

/** One value if every middleware read the same (and read at all), else the readings by middleware. */
function summarize<T>(readings: Record<string, T>): { same: boolean; seen: unknown } {
  const values = Object.values(readings);
  if (values.length === 0) return { same: false, seen: 'no middleware read it' };
  const same = values.every((value) => isDeepStrictEqual(value, values[0]));
  const readable = !values.some((value) => typeof value === 'object' && value !== null && 'error' in value);
  return same && readable ? { same: true, seen: values[0] } : { same: false, seen: readings };
}

function checkFinalEntry(key: string, expected: EntryReading, byMiddleware: Record<string, MiddlewareReading>): ExpectationResult {
  const { same, seen } = summarize(readingsOf(key, byMiddleware));
  const description = `final ${key} through every middleware`;
  if (!same) return { id: `final.${key}`, description, expected, seen, pass: false, detail: 'the middlewares did not all read one value' };
  return { id: `final.${key}`, description, expected, seen, pass: seen === expected };
}

function stateOf(keys: readonly string[], reading: MiddlewareReading): Record<string, EntryReading> | { error: string } {
  if ('error' in reading) return { error: reading.error };
  return Object.fromEntries(keys.map((key) => [key, reading.state[key] ?? null]));
}

function finalStates(keys: readonly string[], byMiddleware: Record<string, MiddlewareReading>): Record<string, Record<string, EntryReading> | { error: string }> {
  return Object.fromEntries(Object.entries(byMiddleware).map(([middleware, reading]) => [middleware, stateOf(keys, reading)]));
}

function checkFinalOneOf(alternatives: FinalState[], byMiddleware: Record<string, MiddlewareReading>): ExpectationResult {
  const keys = [...new Set(alternatives.flatMap((state) => Object.keys(state)))].sort();
  const { same, seen } = summarize(finalStates(keys, byMiddleware));
  const base = { id: 'final', description: `final state through every middleware is one of ${alternatives.length}`, expected: alternatives, seen };
  if (!same) return { ...base, pass: false, detail: 'the middlewares did not all read one state' };
  const index = alternatives.findIndex((state) => finalMatches(state, seen as Record<string, EntryReading>));
  return { ...base, pass: index >= 0, ...(index >= 0 ? { detail: `the ${ordinal(index + 1)}` } : {}) };
}

function finalMatches(expected: FinalState, state: Record<string, EntryReading>): boolean {
  return Object.entries(expected).every(([key, value]) => (state[key] ?? null) === value);
}

function checkInvariant(index: number, invariant: Invariant, byMiddleware: Record<string, MiddlewareReading>): ExpectationResult {
  const bounds = [
    invariant.equals !== undefined ? `= ${invariant.equals}` : null,
    invariant.atLeast !== undefined ? `>= ${invariant.atLeast}` : null,
    invariant.atMost !== undefined ? `<= ${invariant.atMost}` : null,
  ].filter((bound) => bound !== null);
  const description = `${invariant.sum.join(' + ')} ${bounds.join(' and ')} through every middleware`;
  const expected = { sum: invariant.sum, ...(invariant.equals !== undefined ? { equals: invariant.equals } : {}), ...(invariant.atLeast !== undefined ? { atLeast: invariant.atLeast } : {}), ...(invariant.atMost !== undefined ? { atMost: invariant.atMost } : {}) };
  const sums: Record<string, number | string> = {};
  let pass = Object.keys(byMiddleware).length > 0;
  for (const [middleware, reading] of Object.entries(byMiddleware)) {
    if ('error' in reading) {
      sums[middleware] = `unreadable: ${reading.error}`;
      pass = false;
      continue;
    }
    const missing = invariant.sum.filter((key) => reading.state[key] === null || reading.state[key] === undefined);
    if (missing.length > 0) {
      sums[middleware] = `${missing.join(', ')} missing`;
      pass = false;
      continue;
    }
    const sum = invariant.sum.reduce((total, key) => total + (reading.state[key] as number), 0);
    sums[middleware] = sum;
    const holds = (invariant.equals === undefined || sum === invariant.equals) && (invariant.atLeast === undefined || sum >= invariant.atLeast) && (invariant.atMost === undefined || sum <= invariant.atMost);
    if (!holds) pass = false;
  }
  return { id: `invariant.${index}`, description, expected, seen: summarize(sums).seen, pass };
}

// ---- whole outcomes ----

function checkOneOf(outcomes: Outcome[], observation: Observation): ExpectationResult {
  const clientNames = [...new Set(outcomes.flatMap((outcome) => [...Object.keys(outcome.outputs ?? {}), ...Object.keys(outcome.exitCodes ?? {})]))].sort();
  const finalKeys = [...new Set(outcomes.flatMap((outcome) => Object.keys(outcome.final ?? {})))].sort();
  const seen: Record<string, unknown> = {};
  if (outcomes.some((outcome) => outcome.outputs)) seen.outputs = Object.fromEntries(clientNames.map((name) => [name, observation.clients.get(name)?.output ?? null]));
  if (outcomes.some((outcome) => outcome.exitCodes)) seen.exitCodes = Object.fromEntries(clientNames.map((name) => [name, observation.clients.get(name)?.exitCode ?? null]));
  if (finalKeys.length > 0) seen.final = summarize(finalStates(finalKeys, observation.finalByMiddleware)).seen;

  const mismatches = outcomes.map((outcome) => outcomeMismatch(outcome, observation));
  const index = mismatches.indexOf(null);
  const label = (position: number): string => outcomes[position]!.label ?? `outcome ${position + 1}`;
  return {
    id: 'oneOf',
    description: `the run matches one of ${outcomes.length} outcomes (${outcomes.map((_, position) => label(position)).join('; ')})`,
    expected: outcomes,
    seen,
    pass: index >= 0,
    detail: index >= 0 ? `matched ${label(index)}` : mismatches.map((mismatch, position) => `not ${label(position)}: ${mismatch}`).join('; '),
  };
}

/** Why the observation is not `outcome`, or null if it is. */
function outcomeMismatch(outcome: Outcome, observation: Observation): string | null {
  for (const [name, output] of Object.entries(outcome.outputs ?? {})) {
    const seen = observation.clients.get(name)?.output;
    if (seen !== output) return `${name} printed ${show(seen)}`;
  }
  for (const [name, exitCode] of Object.entries(outcome.exitCodes ?? {})) {
    const seen = observation.clients.get(name)?.exitCode;
    if (seen !== exitCode) return `${name} exited ${seen ?? 'never'}`;
  }
  if (outcome.final) {
    for (const [key, value] of Object.entries(outcome.final)) {
      const { same, seen } = summarize(readingsOf(key, observation.finalByMiddleware));
      if (!same || seen !== value) return `${key} is ${show(seen)}`;
    }
  }
  return null;
}

function checkMiddlewaresAgree(byMiddleware: Record<string, MiddlewareReading>): ExpectationResult {
  const { same, seen } = summarize(byMiddleware);
  return {
    id: 'middlewaresAgree',
    description: `every middleware reads the same final state`,
    expected: 'one state',
    seen: same ? (seen as { state: unknown }).state : seen,
    pass: same,
  };
}

function checkReplicasAgree(replicas: ReplicaComparison | null): ExpectationResult {
  const description = 'the database replicas agree key by key (occdb verify)';
  if (replicas === null) return { id: 'replicasAgree', description, expected: true, seen: 'not compared', pass: false };
  if ('error' in replicas) return { id: 'replicasAgree', description, expected: true, seen: `not compared: ${replicas.error}`, pass: false };
  return {
    id: 'replicasAgree',
    description,
    expected: true,
    seen: replicas.agree ? `${plural(replicas.replicas, 'replica')} agree on ${plural(replicas.keys, 'key')}` : { differenceCount: replicas.differenceCount, differences: replicas.differences },
    pass: replicas.agree,
  };
}

// ---- small helpers ----

function ordinal(position: number): string {
  const suffix = position % 10 === 1 && position % 100 !== 11 ? 'st' : position % 10 === 2 && position % 100 !== 12 ? 'nd' : position % 10 === 3 && position % 100 !== 13 ? 'rd' : 'th';
  return `${position}${suffix}`;
}

function show(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}
