// The launchers of one command: the local launcher for loopback hosts, one ssh launcher
// (one connection) per remote destination, made on first use and closed when the command
// is done.
import type { ClusterFile } from '../cluster/cluster-file.js';
import { type Launcher, isLocalHost, localLauncher } from './launcher.js';
import { REMOTE_OCCDB_DEFAULT, SshLauncher } from './ssh-launcher.js';
import { type SshOptions, formatDestination, parseSshDestination } from './ssh.js';

export interface RemoteOptions extends SshOptions {
  /** The occdb command on remote hosts (--remote-occdb); default `occdb` on their PATH. */
  remoteOccdb?: string | undefined;
}

export class Launchers {
  private readonly remote = new Map<string, SshLauncher>();

  constructor(readonly options: RemoteOptions = {}) {}

  /**
   * For a cluster already started: the ssh settings recorded in its file, each overridden by
   * the one given on the command line.
   */
  static forCluster(cluster: ClusterFile, overrides: RemoteOptions = {}): Launchers {
    const recorded = cluster.ssh;
    return new Launchers({
      remoteOccdb: overrides.remoteOccdb ?? recorded?.remoteOccdb,
      identityFile: overrides.identityFile ?? recorded?.identityFile,
      knownHostsFile: overrides.knownHostsFile ?? recorded?.knownHostsFile,
      acceptNewHosts: overrides.acceptNewHosts,
    });
  }

  /** True for a host reached over ssh. */
  isRemote(host: string): boolean {
    return !isLocalHost(host);
  }

  forHost(host: string): Launcher {
    return isLocalHost(host) ? localLauncher : this.remoteLauncher(host);
  }

  /** The ssh launcher of `host`; hosts that name the same user, address and port share one. */
  remoteLauncher(host: string): SshLauncher {
    const key = formatDestination(parseSshDestination(host));
    let launcher = this.remote.get(key);
    if (!launcher) {
      launcher = new SshLauncher(host, this.options.remoteOccdb ?? REMOTE_OCCDB_DEFAULT, this.options);
      this.remote.set(key, launcher);
    }
    return launcher;
  }

  /** Ends every ssh connection (the processes started through them keep running). */
  close(): void {
    for (const launcher of this.remote.values()) launcher.close();
    this.remote.clear();
  }
}
