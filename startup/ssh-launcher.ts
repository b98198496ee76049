// The launcher for a host reached over ssh: every operation is a short sh script run there
// through one shared connection. The processes are started detached (setsid, nohup, stdio
// to a file), so they outlive the ssh session; their pids are the remote ones.
import { OccdbError } from '../errors/catalogue.js';
import { STDOUT_LOG_NAME, roleEnvironment, type LaunchSpec, type Launcher } from './launcher.js';
import { type ExecResult, type SshDestination, type SshOptions, SshSession, parseSshDestination, shellQuote } from './ssh.js';

/** The occdb command on a remote host when none is given: the one on its PATH. */
export const REMOTE_OCCDB_DEFAULT = 'occdb';

/** What startup learns about a host before it starts anything there. */
export interface RemoteHostFacts {
  /** The user's home directory there: relative remote directories are under it. */
  home: string;
  /** What `<occdb> --version` printed. */
  occdbVersion: string;
}

const TAIL_CHARS_MAX = 64 * 1024;
const START_TIMEOUT_MS = 30_000;
const PROBE_TIMEOUT_MS = 30_000;
const EXIT_COMMAND_NOT_FOUND = 127;
const EXIT_NOT_EXECUTABLE = 126;

export class SshLauncher implements Launcher {
  readonly destination: SshDestination;
  private readonly session: SshSession;
  /** Private files this launcher wrote on the host in this command, with their text. */
  private readonly written = new Map<string, string>();

  constructor(readonly host: string, private readonly remoteOccdb: string, options: SshOptions) {
    this.destination = parseSshDestination(host);
    this.session = new SshSession(this.destination, options);
  }

  /**
   * Connects (so that an unreachable host, a refused key or an unknown host key shows now),
   * then finds the home directory and checks that the occdb command runs there.
   */
  async check(): Promise<RemoteHostFacts> {
    await this.session.check();
    const home = await this.run('printf "occdb-home=%s\\n" "$HOME"', 'finding the home directory');
    const homeMatch = /^occdb-home=(\/.*)$/m.exec(home.stdout);
    if (home.code !== 0 || !homeMatch) {
      throw new OccdbError('USAGE', `ssh to ${this.session.label}: cannot find the home directory (${oneLine(home.stderr) || `exit ${home.code}`})`);
    }
    const version = await this.run(`${this.remoteOccdb} --version`, `${this.remoteOccdb} --version`);
    if (version.code !== 0) {
      const what = version.code === EXIT_COMMAND_NOT_FOUND ? 'not found' : version.code === EXIT_NOT_EXECUTABLE ? 'not executable' : `failed (exit ${version.code ?? 'by a signal'})`;
      const detail = oneLine(version.stderr) || oneLine(version.stdout);
      throw new OccdbError(
        'USAGE',
        `occdb is missing on ${this.session.label}: '${this.remoteOccdb} --version' ${what}${detail ? ` (${detail})` : ''}; install occdb there (Node.js 20+) or name it with --remote-occdb`,
      );
    }
    return { home: homeMatch[1]!, occdbVersion: oneLine(version.stdout) };
  }

  /**
   * Writes `text` to `file` on the host, atomically (a temporary file, then a rename); with
   * `ownerOnly`, readable by the owner only from its first byte. The text goes through the
   * session's standard input, never on a command line.
   */
  async writeFile(file: string, text: string, ownerOnly = false): Promise<void> {
    await this.writeFiles([{ file, text, ownerOnly }]);
  }

  /**
   * Writes several files in one ssh command (each as writeFile does): the texts go through
   * standard input, one base64 line each, which the shell's `read` takes line by line.
   */
  async writeFiles(files: ReadonlyArray<{ file: string; text: string; ownerOnly?: boolean }>): Promise<void> {
    if (files.length === 0) return;
    const steps = files.map(({ file, ownerOnly }) => {
      const temporary = `${file}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;
      const directory = file.slice(0, file.lastIndexOf('/')) || '/';
      return `mkdir -p ${shellQuote(directory)} && IFS= read -r line && (${ownerOnly ? 'umask 077 && ' : ''}printf '%s' "$line" | base64 -d > ${shellQuote(temporary)}) && mv -f ${shellQuote(temporary)} ${shellQuote(file)}`;
    });
    const stdin = files.map(({ text }) => `${Buffer.from(text, 'utf8').toString('base64')}\n`).join('');
    const names = files.map(({ file }) => file).join(', ');
    const result = await this.run(steps.join(' && '), `copying ${names}`, { stdin });
    if (result.code !== 0) {
      throw new OccdbError('USAGE', `ssh to ${this.session.label}: cannot write ${names}: ${oneLine(result.stderr) || `exit ${result.code}`}`);
    }
  }

  async start(spec: LaunchSpec): Promise<{ pid: number }> {
    // The cluster file (its pids change as processes start) and, once per command, the
    // private files beside it: one ssh command.
    const clusterDir = spec.clusterFile.slice(0, spec.clusterFile.lastIndexOf('/')) || '/';
    const files: Array<{ file: string; text: string; ownerOnly?: boolean }> = [];
    if (spec.clusterText !== undefined) files.push({ file: spec.clusterFile, text: spec.clusterText });
    for (const { name, text } of spec.privateFiles ?? []) {
      const file = `${clusterDir}/${name}`;
      if (this.written.get(file) === text) continue;
      files.push({ file, text, ownerOnly: true });
    }
    await this.writeFiles(files);
    for (const { file, text, ownerOnly } of files) if (ownerOnly) this.written.set(file, text);
    const name = `${spec.role.toUpperCase()}${spec.id}`;
    const environment = Object.entries(roleEnvironment(spec.role)).map(([name, value]) => `${name}=\${${name}:-${value}} `).join('');
    const command = `${environment ? `env ${environment}` : ''}${this.remoteOccdb} ${spec.role} ${spec.id} --cluster ${shellQuote(spec.clusterFile)} --log-level ${spec.logLevel}${spec.logFormat === 'json' ? ' --log-format json' : ''}`;
    // setsid puts the process in a session of its own, so that nothing the ssh session does
    // reaches it; without setsid (not Linux), nohup alone keeps it from SIGHUP. $! is the
    // process itself: setsid and nohup exec it, and a background job is never a group leader.
    // One line: the login shell that passes the script to sh may be a csh, which refuses a
    // newline inside quotes.
    const script = [
      `mkdir -p ${shellQuote(spec.dir)} && cd ${shellQuote(spec.dir)} || exit 1; `,
      `printf '==== %s starting ${name}\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >> ${STDOUT_LOG_NAME}; `,
      'if command -v setsid >/dev/null 2>&1; then detach=setsid; else detach=; fi; ',
      `$detach nohup ${command} >> ${STDOUT_LOG_NAME} 2>&1 < /dev/null & `,
      'echo "occdb-pid=$!"',
    ].join('');
    const result = await this.run(script, `starting ${name}`, { timeoutMs: START_TIMEOUT_MS });
    const match = /^occdb-pid=(\d+)$/m.exec(result.stdout);
    if (result.code !== 0 || !match) {
      throw new OccdbError('USAGE', `ssh to ${this.session.label}: could not start ${name} in ${spec.dir}: ${oneLine(result.stderr) || `exit ${result.code}`}`);
    }
    return { pid: Number(match[1]) };
  }

  async isAlive(pid: number): Promise<boolean> {
    const result = await this.run(`${aliveTest(pid)} && echo occdb-alive=yes || echo occdb-alive=no`, `checking pid ${pid}`);
    return /^occdb-alive=yes$/m.test(result.stdout);
  }

  async signal(pid: number, signal: NodeJS.Signals): Promise<void> {
    // The check and the kill run in one script, so a pid handed to another program since is never signalled.
    const name = signal.replace(/^SIG/, '');
    const result = await this.run(`if ${aliveTest(pid)}; then kill -s ${name} ${pid}; fi`, `sending ${signal} to pid ${pid}`);
    if (result.code !== 0 && !/no such process/i.test(result.stderr)) {
      throw new OccdbError('USAGE', `ssh to ${this.session.label}: cannot send ${signal} to pid ${pid}: ${oneLine(result.stderr) || `exit ${result.code}`}`);
    }
  }

  async readLogTail(file: string, lines: number): Promise<string[]> {
    const result = await this.run(`if [ -f ${shellQuote(file)} ]; then tail -n ${lines} ${shellQuote(file)}; fi`, `reading ${file}`);
    if (result.code !== 0) return [];
    const text = result.stdout.slice(-TAIL_CHARS_MAX);
    const all = text.split('\n');
    if (all.at(-1) === '') all.pop();
    return all.slice(-lines);
  }

  async freePorts(count: number, address: string, basePort?: number): Promise<number[]> {
    const base = basePort === undefined ? '' : ` --base-port ${basePort}`;
    const result = await this.run(`${this.remoteOccdb} free-ports ${count} --address ${shellQuote(address)}${base}`, 'choosing free ports', { timeoutMs: PROBE_TIMEOUT_MS });
    const answer = result.stdout.trim().split('\n').at(-1) ?? '';
    if (result.code === 0) {
      try {
        const parsed: unknown = JSON.parse(answer);
        if (Array.isArray(parsed) && parsed.length === count && parsed.every((port) => Number.isInteger(port))) return parsed as number[];
      } catch {
        // Falls through to the error below.
      }
    }
    // The remote occdb's own one-line message ("occdb: port 23000 on 0.0.0.0 is in use; ...").
    const message = oneLine(result.stderr).replace(/^occdb: /, '') || `unexpected answer '${answer}'`;
    throw new OccdbError('USAGE', `on ${this.host}: ${message}`);
  }

  close(): void {
    this.session.close();
  }

  private run(script: string, purpose: string, options: { stdin?: string; timeoutMs?: number } = {}): Promise<ExecResult> {
    return this.session.exec(script, { purpose, ...options });
  }
}

/**
 * A sh condition: `pid` is a running occdb process. As for a local process, kill -0 alone is
 * not enough: a zombie or a pid reused by another program passes it.
 */
function aliveTest(pid: number): string {
  return [
    `{ kill -0 ${pid} 2>/dev/null && { [ ! -r /proc/${pid}/stat ] || {`,
    `! sed 's/.*) \\(.\\).*/\\1/' /proc/${pid}/stat | grep -q '^[ZX]$' &&`,
    `tr '\\000' '\\n' < /proc/${pid}/cmdline | grep -Eq '(^|/)occdb(\\.js)?$'; }; }; }`,
  ].join(' ');
}

/** The last non-empty line of a command's output, for a one-line message. */
function oneLine(text: string): string {
  return text.trim().split('\n').filter((line) => line.trim() !== '').at(-1)?.trim() ?? '';
}
