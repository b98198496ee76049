// occdb user add | remove | list (startup/users.ts does the work, loaded when a subcommand runs).
import fs from 'node:fs';
import { type Command, Option } from 'commander';
import { clusterOption, dirOption, resolveClusterFile } from './options.js';

const ROLES = ['admin', 'readwrite', 'readonly'] as const;

interface UserOptions {
  dir: string;
  cluster?: string;
}

export function registerUserCommands(program: Command): void {
  const user = program
    .command('user')
    .description('manage the users that may log in to the middlewares\' client ports (users.json in the cluster directory)');

  user
    .command('add')
    .description('add a user with a role; by default occdb generates a token and prints it once')
    .argument('<name>', 'the user name: 1-64 of A-Z a-z 0-9 _ . @ -')
    .addOption(new Option('--role <role>', 'admin: everything (QUIT, shutdown, users); readwrite: transactions; readonly: transactions that write nothing').choices([...ROLES]).makeOptionMandatory())
    .addOption(new Option('--password-stdin', 'read the password from the first line of standard input instead of generating a token'))
    .addOption(new Option('--token-file <file>', 'write the generated token as <name>:<token> to this file (mode 0600) instead of printing it'))
    .addOption(dirOption())
    .addOption(clusterOption())
    .addHelpText('after', [
      '',
      'Examples:',
      '  occdb user add alice --role readwrite --token-file ~/.occdb-alice',
      '  printf "%s\\n" "$PASSWORD" | occdb user add bob --role readonly --password-stdin',
    ].join('\n'))
    .action(async (name: string, options: UserOptions & { role: (typeof ROLES)[number]; passwordStdin?: boolean; tokenFile?: string }) => {
      const [{ addUser }, { consoleOutput }] = await Promise.all([import('../startup/users.js'), import('../startup/output.js')]);
      const secret = options.passwordStdin ? { password: readFirstLine(fs.readFileSync(0, 'utf8')) } : { generate: true as const };
      const token = await addUser(resolveClusterFile(options), name, options.role, secret, consoleOutput);
      if (token === null) return;
      if (options.tokenFile !== undefined) {
        fs.writeFileSync(options.tokenFile, `${name}:${token}\n`, { mode: 0o600 });
        fs.chmodSync(options.tokenFile, 0o600);
        consoleOutput.line(`token written to ${options.tokenFile}; log in with --credentials ${options.tokenFile}`);
      } else {
        consoleOutput.line(`token (shown once; keep it): ${token}`);
      }
    });

  user
    .command('remove')
    .description('remove a user: it cannot log in any more (connections already open keep their login)')
    .argument('<name>', 'the user name')
    .addOption(dirOption())
    .addOption(clusterOption())
    .action(async (name: string, options: UserOptions) => {
      const [{ removeUser }, { consoleOutput }] = await Promise.all([import('../startup/users.js'), import('../startup/output.js')]);
      await removeUser(resolveClusterFile(options), name, consoleOutput);
    });

  user
    .command('list')
    .description('list the users with their roles')
    .addOption(dirOption())
    .addOption(clusterOption())
    .action(async (options: UserOptions) => {
      const [{ listUsers }, { consoleOutput }] = await Promise.all([import('../startup/users.js'), import('../startup/output.js')]);
      listUsers(resolveClusterFile(options), consoleOutput);
    });
}

function readFirstLine(text: string): string {
  return text.split(/\r?\n/)[0] ?? '';
}
