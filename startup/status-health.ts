// The one-line health summary at the top of occdb status, in the manner of Galera's
// wsrep_cluster_status. Built from the status documents alone, like the rest of status:
//
// - Primary: every process answers, every middleware is a member of the newest installed view,
//   every database is a replica of it, and nothing is suspected. The cluster commits with all
//   of its processes.
// - degraded: transactions can commit (a middleware answers as a member, and a majority of the
//   databases answer as replicas), but some process is down, out of the view, joining, behind or
//   suspected; the line names them.
// - non-Primary: nothing can commit: no answering middleware is a member of a view, or fewer
//   than a majority of the databases answer as replicas (no quorum; design section 9).
import { type ViewStanding, newestInstalledView, reportsViews, viewStandings } from './status-view.js';
import type { NodeStatus } from './status.js';

export type HealthState = 'Primary' | 'degraded' | 'non-Primary';

export interface ClusterHealth {
  state: HealthState;
  /** The epoch of the newest view an answering middleware installed; null when none did. */
  view: number | null;
  middlewares: { members: number; total: number };
  databases: { inSync: number; total: number };
  /** What keeps the cluster from Primary, one short phrase per process, in the table's order. */
  problems: string[];
}

/** At most this many problems are named in the line; the rest are counted. */
const PROBLEMS_NAMED_MAX = 3;

export function clusterHealth(statuses: readonly NodeStatus[]): ClusterHealth {
  const views = reportsViews(statuses);
  const standings = views ? viewStandings(statuses) : undefined;
  const newest = views ? newestInstalledView(statuses) : null;
  let members = 0;
  let inSync = 0;
  const problems: string[] = [];
  statuses.forEach((entry, index) => {
    const standing = standings?.[index];
    const problem = problemOf(entry, standing);
    if (problem !== null) problems.push(`${entry.node.name} ${problem}`);
    const answering = entry.state === 'up';
    if (entry.node.role === 'middleware' && answering && (standing === undefined || (standing.place === 'member' && standing.reason === null))) members += 1;
    if (entry.node.role === 'database' && answering && (standing === undefined || (standing.place === 'replica' && standing.reason === null))) inSync += 1;
  });
  const databaseCount = statuses.filter((entry) => entry.node.role === 'database').length;
  const quorum = inSync > databaseCount / 2;
  const state: HealthState = members === 0 || !quorum ? 'non-Primary' : problems.length > 0 ? 'degraded' : 'Primary';
  return {
    state,
    view: newest?.epoch ?? null,
    middlewares: { members, total: statuses.length - databaseCount },
    databases: { inSync, total: databaseCount },
    problems,
  };
}

/** `cluster: Primary, 3/3 middlewares, 3/3 databases in sync, view 4` or `cluster: degraded, DATABASE2 down, …`. */
export function formatHealthLine(health: ClusterHealth): string {
  const named = health.problems.slice(0, PROBLEMS_NAMED_MAX);
  const more = health.problems.length - named.length;
  const parts = [
    health.state,
    ...(health.state === 'non-Primary' && health.databases.inSync <= health.databases.total / 2 ? ['no quorum'] : []),
    ...named,
    ...(more > 0 ? [`${more} more ${more === 1 ? 'problem' : 'problems'}`] : []),
    `${health.middlewares.members}/${health.middlewares.total} middlewares`,
    `${health.databases.inSync}/${health.databases.total} databases in sync`,
    ...(health.view === null ? [] : [`view ${health.view}`]),
  ];
  return `cluster: ${parts.join(', ')}`;
}

/** What keeps one process from its place in a Primary cluster, in a few words; null when nothing does. */
function problemOf(entry: NodeStatus, standing: ViewStanding | undefined): string | null {
  if (entry.state === 'down') return 'down';
  if (standing === undefined) return null;
  if (standing.suspectedBy.length > 0) return `suspected by ${standing.suspectedBy.map((suspicion) => suspicion.name).join(', ')}`;
  if (entry.node.role === 'middleware') {
    if (standing.place === 'member' && standing.reason === null) return null;
    return standing.place === 'out' ? 'not a member' : (standing.reason ?? 'not a member');
  }
  if (standing.place === 'replica' && standing.reason === null) return null;
  if (standing.place === 'joining') return 'joining';
  if (standing.place === 'out') return 'out of the view';
  return standing.reason ?? 'not in sync';
}
