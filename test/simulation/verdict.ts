// What a simulated run broke, as lines to print: the history checker (serializable and in
// real-time order: invariant 3), the final state (6) and the invariants the simulator checks
// itself (1, 2, 4, 5, 6, 7, 9). Empty for a correct run. Each line starts with the check's name, so
// a test can tell which check caught a fault.
import { checkHistory, describeResult } from '../history/checker.js';
import type { SimulationResult } from './simulator.js';

export function problemsOf(result: SimulationResult): string[] {
  const problems: string[] = [];
  const verdict = checkHistory(result.history, { realTime: true });
  if (!verdict.ok) problems.push(`history: ${describeResult(verdict).split('\n').slice(0, 6).join('\n  ')}`);
  if (result.divergentKeys.length > 0) problems.push(`final state: the databases disagree on ${result.divergentKeys.join(', ')}`);
  if (result.wrongFinalKeys.length > 0) problems.push(`final state: not the largest-timestamp committed write: ${result.wrongFinalKeys.slice(0, 4).join('; ')}`);
  for (const violation of result.invariantViolations.slice(0, 6)) problems.push(`invariant ${violation}`);
  if (result.invariantViolations.length > 6) problems.push(`invariant: ${result.invariantViolations.length - 6} more violations`);
  return problems;
}

/** The names of the checks that failed: `history`, `final state`, `invariant 4`, … */
export function checksFailed(problems: readonly string[]): string[] {
  return [...new Set(problems.filter((line) => !line.startsWith('invariant:')).map((line) => line.slice(0, line.indexOf(':'))))];
}

export function describeRun(result: SimulationResult): string {
  return `${result.committed} committed, ${result.aborted} aborted, ${result.unknown} unknown, ${result.failed} gave up, ${result.views} views, ${result.virtualMs.toFixed(0)} virtual ms${result.faultsInjected.length > 0 ? `; faults ${result.faultsInjected.join(', ')}; commits resumed ${result.resumeMs?.toFixed(0)} ms after the last` : ''}`;
}
