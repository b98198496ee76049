// Whom the command line logs in as on the middlewares' client ports. By default, the cluster
// directory's owner: reading the cluster file gives its secret's keys (protocol/credentials.ts).
// A user logs in with, in this order:
//   --credentials FILE, or OCCDB_CREDENTIALS=FILE: a file holding `name:password-or-token`
//     (as `occdb user add --token-file` writes it), readable by its owner only;
//   --user NAME, or OCCDB_USER=NAME: the password from OCCDB_PASSWORD, or asked for on the
//     terminal without echo.
// Never from the command line itself: a password there is seen by every user of the machine.
import fs from 'node:fs';
import readline from 'node:readline';
import { OccdbError } from '../errors/catalogue.js';
import { type Endpoint } from '../protocol/connection.js';
import { type Credentials, addressKey, registerUserCredentials, userCredentials } from '../protocol/credentials.js';

export interface LoginOptions {
  user?: string | undefined;
  credentials?: string | undefined;
}

/** The user to log in as, or null for the cluster directory's keys. */
export async function loginCredentials(options: LoginOptions, env: NodeJS.ProcessEnv = process.env): Promise<Credentials | null> {
  const file = options.credentials ?? (options.user === undefined ? env.OCCDB_CREDENTIALS : undefined);
  if (file !== undefined) return credentialsFromFile(file);
  const user = options.user ?? env.OCCDB_USER;
  if (user === undefined) return null;
  const password = env.OCCDB_PASSWORD ?? (process.stdin.isTTY && process.stderr.isTTY ? await askPassword(`password for ${user}: `) : undefined);
  if (password === undefined) throw new OccdbError('USAGE', `no password for user ${user}: set OCCDB_PASSWORD, or use --credentials FILE (a file holding ${user}:<password or token>)`);
  return userCredentials(user, password);
}

/** Logs in as `credentials` on every one of `endpoints` (a client's middlewares). */
export function useLogin(credentials: Credentials, endpoints: readonly Endpoint[]): void {
  const addresses = endpoints.flatMap((endpoint) => [addressKey(endpoint), ...(endpoint.socket === undefined ? [] : [addressKey({ path: endpoint.socket })])]);
  registerUserCredentials(addresses, credentials);
}

function credentialsFromFile(file: string): Credentials {
  let text: string;
  let mode: number;
  try {
    mode = fs.statSync(file).mode;
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new OccdbError('USAGE', `cannot read the credentials file ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if ((mode & 0o077) !== 0) throw new OccdbError('USAGE', `${file} is readable by others (mode ${(mode & 0o777).toString(8)}): run chmod 600 ${file}`);
  const line = text.split(/\r?\n/)[0] ?? '';
  const colon = line.indexOf(':');
  if (colon <= 0 || colon === line.length - 1) throw new OccdbError('USAGE', `${file}: line 1 is not <name>:<password or token>`);
  return userCredentials(line.slice(0, colon), line.slice(colon + 1));
}

/** Asks on the terminal without echoing what is typed. */
function askPassword(question: string): Promise<string> {
  return new Promise((resolve) => {
    const lines = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const output = lines as unknown as { _writeToOutput: (text: string) => void; output: NodeJS.WriteStream };
    let asked = false;
    output._writeToOutput = (text: string) => {
      if (!asked) output.output.write(text);
    };
    lines.question(question, (answer) => {
      process.stderr.write('\n');
      lines.close();
      resolve(answer);
    });
    asked = true;
  });
}
