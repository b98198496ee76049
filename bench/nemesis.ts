// npm run bench:nemesis -- [options]: the fault benchmark (bench/nemesis-command.ts), the same
// as `occdb bench --nemesis …`.
import { runNemesisCommand } from './nemesis-command.js';

runNemesisCommand(process.argv.slice(2), 'npm run bench:nemesis --').then(
  (code) => {
    process.exitCode = code;
  },
  (error: Error) => {
    process.stderr.write(`bench:nemesis: ${error.stack ?? error.message}\n`);
    process.exitCode = 3;
  },
);
