// Network namespaces joined by a bridge: each namespace is a "host" with its own address
// (<subnet>.2, .3, …), reached from this namespace through the bridge (<subnet>.1). A process
// started in one (`ip netns exec`) is cut off the network by taking its veth link down on the
// bridge side, and healed by bringing it up: a real partition, in both directions, with no
// firewall. Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN) and iproute2's `ip`.
//
// Used by the nemesis benchmark's partitions and by the ssh tests' lab (test/helpers/ssh-lab.ts).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const IP_TIMEOUT_MS = 10_000;
/** The most hosts one network holds: addresses .2 to .254 of a /24, less a margin. */
export const NAMESPACE_HOSTS_MAX = 200;

export interface NamespaceHost {
  /** The host's address on the bridge. */
  address: string;
  namespace: string;
  /** The bridge-side end of its veth pair: down is cut off, up is healed. */
  link: string;
}

export interface NamespaceNetwork {
  bridge: string;
  /** The bridge's address, this namespace's address on the network. */
  gateway: string;
  hosts: NamespaceHost[];
  /** Cuts `host` off the network (both directions). */
  cut(host: NamespaceHost): Promise<void>;
  heal(host: NamespaceHost): Promise<void>;
  /**
   * Splits the hosts into `groups` (hosts in none form a group of their own): no packet passes
   * between hosts of two groups, while this namespace still reaches every host. Done with a
   * blackhole route to each host of the other groups in each host's namespace.
   */
  split(groups: NamespaceHost[][]): Promise<void>;
  /** Removes every route `split` added. */
  unsplit(): Promise<void>;
  /** Deletes every namespace and link it made; never throws. Processes still in a namespace keep it alive until they exit. */
  remove(): Promise<void>;
}

async function ip(...args: string[]): Promise<void> {
  await execFileAsync('ip', args, { timeout: IP_TIMEOUT_MS });
}

/**
 * Why namespaces cannot be made here, or null when they can be tried: root and `ip` are needed
 * (whether the kernel lets this container make them shows only when one is made).
 */
export async function namespacesUnavailable(): Promise<string | null> {
  if (process.platform !== 'linux') return `network namespaces are Linux only (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root (this process runs as uid ' + String(process.getuid?.()) + ')';
  try {
    await execFileAsync('ip', ['-V'], { timeout: IP_TIMEOUT_MS });
  } catch (error) {
    return `no usable 'ip' command (iproute2): ${(error as Error).message.split('\n')[0]}`;
  }
  return null;
}

/**
 * Why namespaces cannot be used here, or null: namespacesUnavailable's checks, then one
 * namespace made and removed, which shows whether the kernel lets this process make them.
 */
export async function probeNamespaces(): Promise<string | null> {
  const unavailable = await namespacesUnavailable();
  if (unavailable !== null) return unavailable;
  try {
    const network = await createNamespaceNetwork(1);
    await network.remove();
    return null;
  } catch (error) {
    return `a network namespace could not be made: ${(error as Error).message.split('\n')[0]}`;
  }
}

/**
 * `count` namespaces, each with a veth into one new bridge, addressed in the first free
 * `<prefix>.N.0/24`. Everything made so far is removed if a step fails (the error says which).
 */
export async function createNamespaceNetwork(count: number, prefix = '10.222'): Promise<NamespaceNetwork> {
  if (count < 1 || count > NAMESPACE_HOSTS_MAX) throw new Error(`a namespace network holds 1 to ${NAMESPACE_HOSTS_MAX} hosts, not ${count}`);
  const subnet = await freeSubnet(prefix);
  // Interface names are at most 15 characters: keep the run id short.
  const run = Math.random().toString(36).slice(2, 8);
  const bridge = `ob${run}`;
  const namespaces: string[] = [];
  const remove = async (): Promise<void> => {
    for (const namespace of namespaces) await ip('netns', 'del', namespace).catch(() => undefined);
    await ip('link', 'del', bridge).catch(() => undefined);
  };
  try {
    await ip('link', 'add', bridge, 'type', 'bridge');
    await ip('addr', 'add', `${subnet}.1/24`, 'dev', bridge);
    await ip('link', 'set', bridge, 'up');
    const hosts: NamespaceHost[] = [];
    for (let index = 1; index <= count; index += 1) {
      const namespace = `occdb-${run}-${index}`;
      const link = `ov${run}${index}`;
      const inside = `op${run}${index}`;
      const address = `${subnet}.${index + 1}`;
      await ip('netns', 'add', namespace);
      namespaces.push(namespace);
      await ip('link', 'add', link, 'type', 'veth', 'peer', 'name', inside);
      await ip('link', 'set', inside, 'netns', namespace);
      await ip('-n', namespace, 'addr', 'add', `${address}/24`, 'dev', inside);
      await ip('-n', namespace, 'link', 'set', inside, 'up');
      await ip('-n', namespace, 'link', 'set', 'lo', 'up');
      await ip('link', 'set', link, 'master', bridge);
      await ip('link', 'set', link, 'up');
      hosts.push({ address, namespace, link });
    }
    /** Routes `split` added: [namespace, address] pairs. */
    let blackholes: Array<[string, string]> = [];
    const unsplit = async (): Promise<void> => {
      const added = blackholes;
      blackholes = [];
      for (const [namespace, address] of added) await ip('-n', namespace, 'route', 'del', 'blackhole', `${address}/32`).catch(() => undefined);
    };
    const split = async (groups: NamespaceHost[][]): Promise<void> => {
      const grouped = new Set(groups.flat());
      const all = [...groups, ...hosts.filter((host) => !grouped.has(host)).map((host) => [host])];
      for (const [index, group] of all.entries()) {
        for (const host of group) {
          for (const other of all.filter((_, at) => at !== index).flat()) {
            await ip('-n', host.namespace, 'route', 'add', 'blackhole', `${other.address}/32`);
            blackholes.push([host.namespace, other.address]);
          }
        }
      }
    };
    return {
      bridge,
      gateway: `${subnet}.1`,
      hosts,
      cut: (host) => ip('link', 'set', host.link, 'down'),
      heal: (host) => ip('link', 'set', host.link, 'up'),
      split,
      unsplit,
      remove,
    };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** The command prefix that runs a program inside `namespace`. */
export function namespaceCommand(namespace: string): string[] {
  return ['ip', 'netns', 'exec', namespace];
}

/** `<prefix>.0` unless some interface already has an address there (another run's network): then the next free one. */
async function freeSubnet(prefix: string): Promise<string> {
  const { stdout } = await execFileAsync('ip', ['-4', '-o', 'addr', 'show'], { timeout: IP_TIMEOUT_MS });
  for (let third = 0; third < 256; third += 1) {
    if (!stdout.includes(` ${prefix}.${third}.`)) return `${prefix}.${third}`;
  }
  throw new Error(`every ${prefix}.x.0/24 is in use`);
}
