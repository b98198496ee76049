// Reads the text `ava --verbose` prints for one test file: each test with its verdict and its
// `t.log` lines, the failure details, and anything that went wrong outside a test (an uncaught
// exception, a timeout). Pure: text in, structure out. ava prints one line per test:
//
//     ✔ title (12ms)               a passed test, its duration in parentheses
//       ℹ a log line               t.log; continuation lines are indented two more spaces
//     ✘ [fail]: title message      a failed test, followed by ava's one-line reason
//     - [skip] title / - [todo] title
//     ◌ title                      still pending when a timeout stopped the file
//     ─                            the separator; failure details follow, then the counts

export type TestStatus = 'passed' | 'failed' | 'skipped' | 'todo' | 'pending';

export interface ParsedTest {
  title: string;
  status: TestStatus;
  /** ava's reason for a failure, when it could be told apart from the title. */
  message?: string;
  /** Each t.log call, its continuation lines joined with newlines. */
  logs: string[];
  /** For a failed test: ava's details of the failure (source excerpt, assertion, difference, stack). */
  details?: string;
}

export interface ParsedAvaOutput {
  tests: ParsedTest[];
  /** Lines about failures outside any one test: uncaught exceptions, timeouts, a worker that exited. */
  problems: string[];
  /** What ava printed between the separators: the details of every failure. */
  failureDetails: string;
  /** The closing counts, e.g. `28 tests passed`. */
  summary: string[];
}

const SEPARATOR = /^\s*─\s*$/;
const DURATION_SUFFIX = / \((?:\d+(?:\.\d+)?(?:ms|s|m))\)$/;
const LOG_LINE = /^ {4}ℹ ?(.*)$/;
const LOG_CONTINUATION = /^ {6}(.*)$/;

function stripDuration(text: string): string {
  return text.replace(DURATION_SUFFIX, '');
}

/**
 * `✘ [fail]: <title> <message>` has no mark between title and message; the failure details
 * repeat each failing title on a line of its own, so the longest such line that starts the
 * text (at a word boundary) is the title.
 */
function splitFailure(text: string, detailLines: readonly string[]): { title: string; message?: string } {
  const candidates = detailLines
    .filter((line) => /^ {2}\S/.test(line))
    .map((line) => line.slice(2).trimEnd())
    .filter((candidate) => text === candidate || text.startsWith(`${candidate} `));
  if (candidates.length === 0) return { title: text };
  const title = candidates.reduce((longest, candidate) => (candidate.length > longest.length ? candidate : longest));
  const message = text.slice(title.length).trim();
  return message === '' ? { title } : { title, message };
}

/** Each failed test's block of the details: from its title line to the next failed test's. */
function attachDetails(tests: readonly ParsedTest[], detailLines: readonly string[]): void {
  const failed = tests.filter((test) => test.status === 'failed');
  const starts: { test: ParsedTest; index: number }[] = [];
  let from = 0;
  for (const test of failed) {
    const index = detailLines.findIndex((line, position) => position >= from && line.trimEnd() === `  ${test.title}`);
    if (index < 0) continue;
    starts.push({ test, index });
    from = index + 1;
  }
  starts.forEach((start, position) => {
    // ava indents the details by two spaces; the block is shown without that margin.
    const lines = detailLines.slice(start.index + 1, starts[position + 1]?.index ?? detailLines.length).map((line) => line.replace(/^ {2}/, ''));
    const text = lines.join('\n').replace(/^\n+|\s+$/g, '');
    if (text !== '') start.test.details = text;
  });
}

export function parseAvaOutput(text: string): ParsedAvaOutput {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const separators = lines.flatMap((line, index) => (SEPARATOR.test(line) ? [index] : []));
  const firstSeparator = separators[0] ?? lines.length;
  const lastSeparator = separators.at(-1) ?? lines.length;
  const detailLines = separators.length >= 2 ? lines.slice(firstSeparator + 1, lastSeparator) : [];

  const tests: ParsedTest[] = [];
  const problems: string[] = [];
  let lastLogs: string[] | null = null;
  for (const line of lines.slice(0, firstSeparator)) {
    const log = LOG_LINE.exec(line);
    if (log && lastLogs !== null) {
      lastLogs.push(log[1]!);
      continue;
    }
    const continuation = LOG_CONTINUATION.exec(line);
    if (continuation && lastLogs !== null && lastLogs.length > 0) {
      lastLogs[lastLogs.length - 1] += `\n${continuation[1]!}`;
      continue;
    }
    const trimmed = line.trim();
    let test: ParsedTest | null = null;
    if (trimmed.startsWith('✔ ')) {
      test = { title: stripDuration(trimmed.slice(2).replace(/^\[expected fail\] /, '')), status: 'passed', logs: [] };
    } else if (trimmed.startsWith('✘ [fail]: ')) {
      test = { ...splitFailure(stripDuration(trimmed.slice('✘ [fail]: '.length)), detailLines), status: 'failed', logs: [] };
    } else if (trimmed.startsWith('- [skip] ')) {
      test = { title: trimmed.slice('- [skip] '.length), status: 'skipped', logs: [] };
    } else if (trimmed.startsWith('- [todo] ')) {
      test = { title: trimmed.slice('- [todo] '.length), status: 'todo', logs: [] };
    } else if (trimmed.startsWith('◌ ')) {
      test = { title: trimmed.slice(2), status: 'pending', logs: [] };
    } else if (trimmed.startsWith('✘ ') || trimmed.startsWith('Uncaught exception') || trimmed.startsWith('Unhandled rejection')) {
      problems.push(trimmed.replace(/^✘ /, ''));
    }
    if (test !== null) {
      tests.push(test);
      lastLogs = test.logs;
    } else if (trimmed !== '' && !LOG_LINE.test(line)) {
      // Anything else ends the log lines of the test before it.
      lastLogs = null;
    }
  }
  attachDetails(tests, detailLines);
  const summary = separators.length > 0 ? lines.slice(lastSeparator + 1).map((line) => line.trim()).filter((line) => line !== '') : [];
  return { tests, problems, failureDetails: detailLines.join('\n').trim(), summary };
}

/** Whether a file's run showed every test passing (skipped or todo tests are counted as not passing). */
export function allPassed(parsed: ParsedAvaOutput, exitCode: number | null): boolean {
  return exitCode === 0 && parsed.problems.length === 0 && parsed.tests.length > 0 && parsed.tests.every((test) => test.status === 'passed');
}
