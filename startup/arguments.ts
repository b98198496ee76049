// The classic STARTUP form: `N host1 ... hostN M host1 ... hostM`, N middlewares then M
// databases. Every mistake gets a one-line message that says what was expected.
import { OccdbError } from '../errors/catalogue.js';

/** The cluster file holds at most this many entries of each role. */
export const NODES_PER_ROLE_MAX = 1000;

export interface StartupLayout {
  middlewareHosts: string[];
  databaseHosts: string[];
}

// A host is a name or an IPv4 address; for the ssh launcher it may carry a user and an ssh
// port (`user@host:port`).
const HOST_PATTERN = /^(?:[A-Za-z0-9._-]+@)?[A-Za-z0-9](?:[A-Za-z0-9.-]{0,253}[A-Za-z0-9])?(?::\d{1,5})?$/;

// Anything that looks like a number starts the next group, so a missing host is reported as
// "expected 3 hosts, got 2" rather than as a strange host name "3".
const NUMBER_LIKE_PATTERN = /^[+-]?\d+(?:\.\d*)?$/;

export function parseStartupArguments(words: readonly string[]): StartupLayout {
  if (words.length === 0) {
    throw usage("expected 'N host... M host...': the number of middlewares and their hosts, then the number of databases and theirs");
  }
  let position = 0;
  const takeGroup = (role: 'middleware' | 'database'): string[] => {
    const countWord = words[position];
    const count = parseCount(countWord, role);
    position += 1;
    const hosts: string[] = [];
    while (position < words.length && !NUMBER_LIKE_PATTERN.test(words[position]!)) {
      hosts.push(words[position]!);
      position += 1;
    }
    if (hosts.length !== count) {
      throw usage(`expected ${count} ${role} host${count === 1 ? '' : 's'} after ${countWord}, got ${hosts.length}`);
    }
    for (const host of hosts) {
      if (!HOST_PATTERN.test(host)) throw usage(`'${host}' is not a host name (${role} hosts are names or addresses, optionally as user@host:sshport)`);
    }
    return hosts;
  };
  const middlewareHosts = takeGroup('middleware');
  const databaseHosts = takeGroup('database');
  if (position < words.length) {
    throw usage(`unexpected '${words.slice(position).join(' ')}' after the database hosts`);
  }
  return { middlewareHosts, databaseHosts };
}

function parseCount(word: string | undefined, role: 'middleware' | 'database'): number {
  const what = `the number of ${role}s`;
  if (word === undefined) throw usage(`${what} must be a positive integer, got nothing`);
  if (!/^\d+$/.test(word) || Number(word) < 1) throw usage(`${what} must be a positive integer, got '${word}'`);
  const count = Number(word);
  if (count > NODES_PER_ROLE_MAX) throw usage(`${what} must be at most ${NODES_PER_ROLE_MAX}, got ${word}`);
  return count;
}

function usage(message: string): OccdbError {
  return new OccdbError('USAGE', message);
}
