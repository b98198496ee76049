// The classic `N host... M host...` arguments, local hosts and their launcher, port choice and
// log tails: every mistake gets its one-line message, and nothing here starts a process.
import test from 'ava';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { OccdbError } from '../errors/catalogue.js';
import { parseStartupArguments } from '../startup/arguments.js';
import { LocalLauncher, isLocalHost, launcherForHost } from '../startup/launcher.js';
import { allocatePorts, isPortFree } from '../startup/ports.js';
import { temporaryDir } from './helpers/startup-cluster.js';

const words = (text: string): string[] => (text === '' ? [] : text.split(' '));

test('N middlewares and their hosts, then M databases and theirs', (t) => {
  t.deepEqual(parseStartupArguments(words('3 localhost localhost 127.0.0.1 2 localhost 127.0.0.5')), {
    middlewareHosts: ['localhost', 'localhost', '127.0.0.1'],
    databaseHosts: ['localhost', '127.0.0.5'],
  });
  t.deepEqual(parseStartupArguments(words('1 alpha 1 user@beta.example.org')), {
    middlewareHosts: ['alpha'],
    databaseHosts: ['user@beta.example.org'],
  });
});

const mistakes: [arguments: string, message: RegExp][] = [
  ['', /expected 'N host\.\.\. M host\.\.\.'/],
  ['localhost 1 localhost', /^the number of middlewares must be a positive integer, got 'localhost'$/],
  ['0 1 localhost', /^the number of middlewares must be a positive integer, got '0'$/],
  ['-2 localhost localhost 1 localhost', /^the number of middlewares must be a positive integer, got '-2'$/],
  ['1.5 localhost 1 localhost', /^the number of middlewares must be a positive integer, got '1\.5'$/],
  ['1001 localhost 1 localhost', /^the number of middlewares must be at most 1000, got 1001$/],
  ['3 localhost localhost 3 localhost localhost localhost', /^expected 3 middleware hosts after 3, got 2$/],
  ['1 localhost localhost 1 localhost', /^expected 1 middleware host after 1, got 2$/],
  ['2 localhost localhost', /^the number of databases must be a positive integer, got nothing$/],
  ['2 localhost localhost 0', /^the number of databases must be a positive integer, got '0'$/],
  ['1 localhost 3 localhost localhost', /^expected 3 database hosts after 3, got 2$/],
  ['1 localhost 1 localhost 2 localhost', /^unexpected '2 localhost' after the database hosts$/],
  ['1 local/host 1 localhost', /^'local\/host' is not a host name/],
  ['1 localhost 1 -localhost', /^'-localhost' is not a host name/],
];

for (const [text, message] of mistakes) {
  test(`'${text}' is refused with a clear message`, (t) => {
    const error = t.throws(() => parseStartupArguments(words(text)), { instanceOf: OccdbError, message });
    t.is(error?.code, 'USAGE');
    t.false(error?.message.includes('\n'), 'one line');
  });
}

test('localhost and 127.x.x.x are local; other hosts are remote', (t) => {
  for (const host of ['localhost', '127.0.0.1', '127.1.2.3']) t.true(isLocalHost(host), host);
  for (const host of ['alpha', '10.0.0.1', '127.0.0.256', '127.0.0', 'user@localhost', 'localhost.example.org']) t.false(isLocalHost(host), host);
  t.true(launcherForHost('localhost') instanceof LocalLauncher);
});

test('a remote host is refused: it needs the ssh launcher', (t) => {
  const error = t.throws(() => launcherForHost('beta'), { instanceOf: OccdbError });
  t.is(error?.code, 'USAGE');
  t.regex(error?.message ?? '', /^host 'beta' is not local: .*ssh launcher/);
});

test('free ports are distinct and free', async (t) => {
  const ports = await allocatePorts(6, '127.0.0.1');
  t.is(new Set(ports).size, 6);
  for (const port of ports) t.true(await isPortFree(port, '127.0.0.1'), String(port));
});

test('--base-port refuses a range with a port in use, naming the port', async (t) => {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', () => resolve()));
  try {
    const taken = (holder.address() as net.AddressInfo).port;
    const error = await t.throwsAsync(allocatePorts(3, '127.0.0.1', taken), { instanceOf: OccdbError });
    t.is(error?.code, 'USAGE');
    t.is(error?.message, `port ${taken} on 127.0.0.1 is in use; --base-port ${taken} needs 3 free ports (${taken}-${taken + 2})`);
  } finally {
    await new Promise<void>((resolve) => holder.close(() => resolve()));
  }
  await t.throwsAsync(allocatePorts(3, '127.0.0.1', 65534), { message: /leaves no room for 3 ports/ });
});

test('a log tail is the last lines of the file, or nothing for a missing file', async (t) => {
  const dir = temporaryDir('tail');
  try {
    const launcher = new LocalLauncher();
    const file = path.join(dir, 'x.log');
    fs.writeFileSync(file, Array.from({ length: 30 }, (_, index) => `line ${index + 1}`).join('\n') + '\n');
    t.deepEqual(await launcher.readLogTail(file, 3), ['line 28', 'line 29', 'line 30']);
    t.deepEqual(await launcher.readLogTail(path.join(dir, 'missing.log'), 3), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a pid that is gone is not alive, and this test process (not occdb) is not taken for one', async (t) => {
  const launcher = new LocalLauncher();
  t.false(await launcher.isAlive(2 ** 22 + 12345)); // Above Linux's pid_max: never a process.
  if (fs.existsSync('/proc/self/stat')) t.false(await launcher.isAlive(process.pid));
});
