// The dependency graph over node numbers, its strongly connected components, and a short cycle
// inside one. Histories run to tens of thousands of transactions, so nothing here recurses.

import type { DependencyKind } from './history.js';

export interface GraphEdge {
  to: number;
  kind: DependencyKind;
  key: string | undefined;
}

/**
 * Nodes below `realNodeCount` are transactions; the rest are time points that encode real-time
 * order without n^2 edges (see checker.ts). A cycle's length counts only the transactions on it.
 */
export class DependencyGraph {
  readonly adjacency: GraphEdge[][] = [];
  edgeCount = 0;

  constructor(readonly realNodeCount: number) {
    for (let node = 0; node < realNodeCount; node++) this.adjacency.push([]);
  }

  get nodeCount(): number {
    return this.adjacency.length;
  }

  addNode(): number {
    this.adjacency.push([]);
    return this.adjacency.length - 1;
  }

  isReal(node: number): boolean {
    return node < this.realNodeCount;
  }

  addEdge(from: number, to: number, kind: DependencyKind, key?: string): void {
    // A transaction that read a version and wrote the next one depends on itself: no information.
    if (from === to) return;
    this.adjacency[from].push({ to, kind, key });
    this.edgeCount++;
  }
}

export interface Components {
  /** Component number of each node. */
  componentOf: Int32Array;
  /** Nodes of each component, in the order Tarjan closed them. */
  members: number[][];
}

/** Tarjan's algorithm with an explicit stack of frames (node, next edge to look at). */
export function stronglyConnectedComponents(graph: DependencyGraph): Components {
  const nodeCount = graph.nodeCount;
  const indexOf = new Int32Array(nodeCount).fill(-1);
  const lowLink = new Int32Array(nodeCount);
  const onStack = new Uint8Array(nodeCount);
  const componentOf = new Int32Array(nodeCount).fill(-1);
  const members: number[][] = [];
  const tarjanStack: number[] = [];
  const frameNodes: number[] = [];
  const frameEdges: number[] = [];
  let nextIndex = 0;

  const open = (node: number): void => {
    indexOf[node] = nextIndex;
    lowLink[node] = nextIndex;
    nextIndex++;
    tarjanStack.push(node);
    onStack[node] = 1;
    frameNodes.push(node);
    frameEdges.push(0);
  };

  for (let root = 0; root < nodeCount; root++) {
    if (indexOf[root] !== -1) continue;
    open(root);
    while (frameNodes.length > 0) {
      const top = frameNodes.length - 1;
      const node = frameNodes[top];
      const edges = graph.adjacency[node];
      const edgeIndex = frameEdges[top];
      if (edgeIndex < edges.length) {
        frameEdges[top] = edgeIndex + 1;
        const next = edges[edgeIndex].to;
        if (indexOf[next] === -1) open(next);
        else if (onStack[next] === 1 && indexOf[next] < lowLink[node]) lowLink[node] = indexOf[next];
        continue;
      }
      frameNodes.pop();
      frameEdges.pop();
      if (lowLink[node] === indexOf[node]) {
        const component: number[] = [];
        let member: number;
        do {
          member = tarjanStack.pop()!;
          onStack[member] = 0;
          componentOf[member] = members.length;
          component.push(member);
        } while (member !== node);
        members.push(component);
      }
      if (frameNodes.length > 0) {
        const parent = frameNodes[frameNodes.length - 1];
        if (lowLink[node] < lowLink[parent]) lowLink[parent] = lowLink[node];
      }
    }
  }
  return { componentOf, members };
}

/**
 * The shortest cycle through `start` that stays inside its component, as the list of nodes
 * visited (start first, start not repeated at the end). Breadth-first by layers, where entering
 * a transaction costs 1 and entering a time point costs 0, so that the length is the number of
 * transactions on the cycle. Returns undefined if no cycle goes through `start`.
 */
export function shortestCycleThrough(graph: DependencyGraph, components: Components, start: number): number[] | undefined {
  const component = components.componentOf[start];
  const distance = new Map<number, number>([[start, 0]]);
  const parent = new Map<number, number>();
  let layer = [start];
  let layerDistance = 0;
  while (layer.length > 0) {
    const nextLayer: number[] = [];
    // The layer grows while it is walked: zero-cost steps stay in it.
    for (let position = 0; position < layer.length; position++) {
      const node = layer[position];
      if (distance.get(node) !== layerDistance) continue;
      for (const edge of graph.adjacency[node]) {
        const next = edge.to;
        if (components.componentOf[next] !== component) continue;
        if (next === start) return pathTo(parent, node, start);
        const cost = graph.isReal(next) ? 1 : 0;
        const known = distance.get(next);
        if (known !== undefined && known <= layerDistance + cost) continue;
        distance.set(next, layerDistance + cost);
        parent.set(next, node);
        (cost === 0 ? layer : nextLayer).push(next);
      }
    }
    layer = nextLayer;
    layerDistance++;
  }
  return undefined;
}

function pathTo(parent: Map<number, number>, last: number, start: number): number[] {
  const path = [last];
  let node = last;
  while (node !== start) {
    node = parent.get(node)!;
    path.push(node);
  }
  return path.reverse();
}

/** Preference among parallel edges when naming a cycle: the strongest dependency first. */
const KIND_RANK: Record<DependencyKind, number> = { ww: 0, wr: 1, rw: 2, rt: 3 };

/** The edge from `from` to `to` that best explains the dependency. */
export function strongestEdge(graph: DependencyGraph, from: number, to: number): GraphEdge {
  let best: GraphEdge | undefined;
  for (const edge of graph.adjacency[from]) {
    if (edge.to !== to) continue;
    if (best === undefined || KIND_RANK[edge.kind] < KIND_RANK[best.kind]) best = edge;
  }
  if (best === undefined) throw new Error(`no edge ${from} -> ${to}`);
  return best;
}
