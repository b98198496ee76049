// Free TCP ports on 127.0.0.1 for tests: the same choice startup makes (see startup/ports.ts).
import { allocatePorts } from '../../startup/ports.js';

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const [port] = await allocatePorts(1, '127.0.0.1');
  return port!;
}

/** `count` distinct ports that were free a moment ago on 127.0.0.1. */
export async function freePorts(count: number): Promise<number[]> {
  return allocatePorts(count, '127.0.0.1');
}
