// The README's "Error codes" table and errors/catalogue.ts agree: every code is in both, with
// the same words. A user reads the table; the code is what the client prints with --json.
import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '../errors/catalogue.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const README = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const SECTION_HEADING = '## Error codes';

/** The rows of the `| code | meaning |` table under the "Error codes" heading, in order. */
function readDocumentedCodes(readme: string): Array<{ code: string; meaning: string }> {
  const lines = readme.split('\n');
  const start = lines.findIndex((line) => line.trim() === SECTION_HEADING);
  if (start === -1) return [];
  const end = lines.findIndex((line, index) => index > start && /^#{1,2} /.test(line));
  const section = lines.slice(start + 1, end === -1 ? lines.length : end);
  const header = section.findIndex((line) => /^\|\s*code\s*\|\s*meaning\s*\|$/.test(line.trim()));
  if (header === -1) return [];
  const rows: Array<{ code: string; meaning: string }> = [];
  // The header, then its |---|---| rule, then one row a line until the table ends.
  for (const line of section.slice(header + 2)) {
    if (!line.trim().startsWith('|')) break;
    const cells = line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((cell) => cell.trim());
    rows.push({ code: cells[0].replace(/^`(.*)`$/, '$1'), meaning: cells.slice(1).join('|').trim() });
  }
  return rows;
}

/** Every way the README text and the catalogue disagree, one sentence each; empty if they agree. */
function compareWithCatalogue(readme: string, catalogue: Record<string, string>): string[] {
  const rows = readDocumentedCodes(readme);
  if (rows.length === 0) return [`the README has no "${SECTION_HEADING}" section with a | code | meaning | table`];
  const problems: string[] = [];
  const documented = new Map<string, string>();
  for (const { code, meaning } of rows) {
    if (documented.has(code)) problems.push(`${code} is in the README twice`);
    documented.set(code, meaning);
  }
  for (const [code, description] of Object.entries(catalogue)) {
    const meaning = documented.get(code);
    if (meaning === undefined) problems.push(`${code} is in the catalogue but not in the README`);
    else if (meaning !== description) problems.push(`${code} differs: the README says "${meaning}", the catalogue "${description}"`);
  }
  for (const code of documented.keys()) {
    if (!Object.hasOwn(catalogue, code)) problems.push(`${code} is in the README but not in the catalogue`);
  }
  return problems;
}

test('the README documents every error code of the catalogue, in the same words', (t) => {
  // The real README against the real catalogue.
  t.deepEqual(compareWithCatalogue(README, ERROR_CODES), []);
  t.is(readDocumentedCodes(README).length, Object.keys(ERROR_CODES).length);
});

test('a code removed from the README is reported', (t) => {
  // The comparison can fail: drop the TIMEOUT row and the mismatch is named.
  const withoutTimeout = README.split('\n').filter((line) => !line.startsWith('| `TIMEOUT` |')).join('\n');
  t.not(withoutTimeout, README);
  t.deepEqual(compareWithCatalogue(withoutTimeout, ERROR_CODES), ['TIMEOUT is in the catalogue but not in the README']);
});

test('a description that differs, a code the catalogue lacks and a missing section are reported', (t) => {
  // Each side is checked against the other, word for word.
  const reworded = README.replace('| `USAGE` | The command line is wrong. |', '| `USAGE` | Bad usage. |');
  t.deepEqual(compareWithCatalogue(reworded, ERROR_CODES), [
    'USAGE differs: the README says "Bad usage.", the catalogue "The command line is wrong."',
  ]);
  const extra = README.replace('| `INTERNAL` |', '| `NO_SUCH_CODE` | Made up. |\n| `INTERNAL` |');
  t.deepEqual(compareWithCatalogue(extra, ERROR_CODES), ['NO_SUCH_CODE is in the README but not in the catalogue']);
  t.deepEqual(compareWithCatalogue('# occdb\n', ERROR_CODES), [
    'the README has no "## Error codes" section with a | code | meaning | table',
  ]);
});
