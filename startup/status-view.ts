// The view part of occdb status (design section 9): the newest view an answering middleware has
// installed, and for every process whether that view counts it in, and if not, why. Built only
// from the status documents, so it says what the processes report, not what is true: a process
// that does not answer is judged by the others' documents alone.
import type { Status } from '../protocol/schemas.js';
import { nodeName } from './nodes.js';
import { formatTable, wrapPieces } from './output.js';
import type { NodeStatus } from './status.js';

type View = NonNullable<Status['view']>;

/** How one process stands towards the newest view. */
export interface ViewStanding {
  /** The epoch of the newest view an answering middleware installed; null when none did. */
  newestEpoch: number | null;
  /** Middleware: the incarnation it reported. */
  incarnation: string | null;
  /** The epoch it installed (middleware), or of the newest chosen view it knows (database). */
  epoch: number | null;
  /** What the newest view lists it as, or out when it is not listed; null without a view. */
  place: 'member' | 'replica' | 'joining' | 'out' | null;
  /** Why it is out or lags, in words; null when it stands where the view puts it. */
  reason: string | null;
  /** What the answering members of the newest view suspect of it. */
  suspectedBy: { name: string; why: string }[];
  /** Database: where it says it stands in being brought up to date, when it reports it (null: not joining). */
  sync?: Status['sync'];
}

/** Whether any answering process reports view fields; older processes report none, and then status prints as before views. */
export function reportsViews(statuses: readonly NodeStatus[]): boolean {
  return statuses.some(({ status }) =>
    status !== undefined &&
    (status.view !== undefined || status.incarnation !== undefined || status.chosenEpoch !== undefined || status.suspected !== undefined));
}

/** The installed view with the highest epoch among the answering middlewares. */
export function newestInstalledView(statuses: readonly NodeStatus[]): View | null {
  let newest: View | null = null;
  for (const { node, status } of statuses) {
    if (node.role === 'middleware' && status?.view && (newest === null || status.view.epoch > newest.epoch)) newest = status.view;
  }
  return newest;
}

/** One standing per process, in the order of `statuses`. */
export function viewStandings(statuses: readonly NodeStatus[]): ViewStanding[] {
  const newest = newestInstalledView(statuses);
  const suspicions = suspicionsByMembers(statuses, newest);
  return statuses.map((entry) => ({
    newestEpoch: newest?.epoch ?? null,
    incarnation: entry.status?.incarnation ?? null,
    ...(entry.node.role === 'middleware' ? middlewareStanding(entry, newest) : databaseStanding(entry, newest)),
    // Suspicions name middleware ids: only members are heartbeaten.
    suspectedBy: entry.node.role === 'middleware' ? suspicions.get(entry.node.id) ?? [] : [],
  }));
}

type Placement = Pick<ViewStanding, 'epoch' | 'place' | 'reason'>;

function middlewareStanding({ node, state, status }: NodeStatus, newest: View | null): Placement {
  const epoch = status?.view?.epoch ?? null;
  const listed = newest?.members.find((member) => member.id === node.id);
  const place = newest === null ? null : listed ? 'member' : 'out';
  if (state === 'down') return { epoch, place, reason: 'not answering' };
  if (newest === null) return { epoch, place, reason: 'no view installed' };
  // A process that does not say which life it is (an older one) is taken for the life listed.
  const incarnation = status?.incarnation;
  if (listed && incarnation !== undefined && incarnation !== listed.incarnation) {
    return { epoch, place: 'out', reason: `another life: epoch ${newest.epoch} lists ${listed.incarnation}` };
  }
  if (listed) return { epoch, place, reason: epoch === null ? 'no view installed' : epoch < newest.epoch ? `behind: installed epoch ${epoch}` : null };
  return { epoch, place, reason: outOfView(epoch, newest.epoch) };
}

/** Why an answering middleware the newest view does not list is out, from the epoch it installed. */
function outOfView(epoch: number | null, newestEpoch: number): string {
  // A view is installed at its members, so the one a middleware holds last listed it: it was
  // removed by a later one, exactly the newest if that follows directly.
  if (epoch === null) return 'not in the view (none installed yet)';
  if (epoch === newestEpoch - 1) return `removed in epoch ${newestEpoch} (not in the view)`;
  if (epoch < newestEpoch) return `removed by epoch ${newestEpoch} (not in the view; installed epoch ${epoch})`;
  return 'not in the view';
}

function databaseStanding({ node, state, status }: NodeStatus, newest: View | null): Placement & Pick<ViewStanding, 'sync'> {
  const epoch = status?.chosenEpoch ?? status?.view?.epoch ?? null;
  const sync = status?.sync === undefined ? {} : { sync: status.sync };
  if (newest === null) return { epoch, place: null, reason: state === 'down' ? 'not answering' : null, ...sync };
  const place = newest.replicas.includes(node.id) ? 'replica' : newest.joining.includes(node.id) ? 'joining' : 'out';
  const reasons = [
    ...(place === 'out' ? ['not in the view'] : []),
    ...(state === 'down' ? ['not answering'] : databaseLag(epoch, newest.epoch)),
    ...syncDisagreement(place, status?.sync),
  ];
  return { epoch, place, reason: reasons.length > 0 ? reasons.join('; ') : null, ...sync };
}

/**
 * Where a database's own sync state and the view's place for it disagree: a database the view
 * lists as joining that says it is not (it never cleared its store for it), or one that says it
 * is joining where the view does not list it so (it has not learned the view yet).
 */
function syncDisagreement(place: 'replica' | 'joining' | 'out', sync: Status['sync']): string[] {
  if (sync === undefined) return [];
  if (place === 'joining') return sync === null ? ['reports not joining'] : [];
  return sync === null ? [] : [`reports ${joiningWords(sync)} since epoch ${sync.joiningSince}`];
}

function joiningWords(sync: NonNullable<Status['sync']>): string {
  return sync.complete ? 'joining (transfer complete)' : 'joining';
}

function databaseLag(epoch: number | null, newestEpoch: number): string[] {
  if (epoch === null) return ['reports no chosen epoch'];
  if (epoch < newestEpoch) return [`behind: knows chosen epoch ${epoch}`];
  // A view is chosen before it is installed; one that stays ahead points at a stuck installation.
  if (epoch > newestEpoch) return [`epoch ${epoch} chosen, not installed yet`];
  return [];
}

/**
 * What each middleware id is suspected of, by the answering members of the newest view (by all
 * answering middlewares when there is none). A removed middleware that is cut off suspects
 * everyone, so its suspicions say nothing about the others.
 */
function suspicionsByMembers(statuses: readonly NodeStatus[], newest: View | null): Map<number, { name: string; why: string }[]> {
  const suspicions = new Map<number, { name: string; why: string }[]>();
  for (const { node, status } of statuses) {
    if (node.role !== 'middleware' || !status?.suspected) continue;
    if (newest !== null && !listedAsMember(newest, node.id, status.incarnation)) continue;
    for (const { id, why } of status.suspected) {
      suspicions.set(id, [...(suspicions.get(id) ?? []), { name: node.name, why }]);
    }
  }
  return suspicions;
}

function listedAsMember(view: View, id: number, incarnation: string | undefined): boolean {
  return view.members.some((member) => member.id === id && (incarnation === undefined || member.incarnation === incarnation));
}

/** `DATABASE1-3, DATABASE5` for ids 1, 2, 3, 5: runs of consecutive ids as ranges. */
export function formatIdRuns(role: 'middleware' | 'database', ids: readonly number[]): string[] {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const runs: [number, number][] = [];
  for (const id of sorted) {
    const last = runs.at(-1);
    if (last && id === last[1] + 1) last[1] = id;
    else runs.push([id, id]);
  }
  return runs.map(([first, last]) => nodeName(role, first) + (last > first ? `-${last}` : ''));
}

/** The cluster line: `view: epoch 7, members MIDDLEWARE1 (3.k2j9), …; replicas DATABASE1-3`, wrapped to `width`. */
export function formatViewLine(view: View | null, width: number): string[] {
  if (view === null) return ['view: none installed by an answering middleware'];
  const list = (items: string[]): string[] => (items.length === 0 ? ['none'] : items.map((item, index) => (index < items.length - 1 ? `${item},` : item)));
  const groups = [
    ['members', ...list(view.members.map((member) => `${nodeName('middleware', member.id)} (${member.incarnation})`))],
    ['replicas', ...list(formatIdRuns('database', view.replicas))],
    ...(view.joining.length > 0 ? [['joining', ...list(formatIdRuns('database', view.joining))]] : []),
  ];
  // Each group but the last ends with ";"; the label sticks to the group's first item.
  const pieces = groups.flatMap((group, index) => {
    const [label, first, ...rest] = group as [string, string, ...string[]];
    const items = [`${label} ${first}`, ...rest];
    if (index < groups.length - 1) items[items.length - 1] += ';';
    return items;
  });
  return wrapPieces([`view: epoch ${view.epoch},`, ...pieces], width, 'view: '.length);
}

/** What the VIEW column says of a process. */
function viewCell(standing: ViewStanding): string {
  if (standing.place === null || standing.place === 'out') return standing.reason ?? standing.place ?? '-';
  // A joining database says whether its transfer is complete, which is what its promotion waits for.
  const place = standing.place === 'joining' && standing.sync ? joiningWords(standing.sync) : standing.place;
  return standing.reason === null ? place : `${place}, ${standing.reason}`;
}

/**
 * The view section of the classic output: the cluster line, then one row per process with its
 * incarnation, epoch and place in the view, and a line for each suspicion of it. Empty when no
 * process reports view fields.
 */
export function formatViewSection(statuses: readonly NodeStatus[], width = 100): string[] {
  if (!reportsViews(statuses)) return [];
  const standings = viewStandings(statuses);
  const cell = (value: number | string | null): string => (value === null ? '-' : String(value));
  const rows = statuses.flatMap(({ node }, index) => {
    const standing = standings[index]!;
    return [
      [node.name, cell(standing.incarnation), cell(standing.epoch), viewCell(standing)],
      ...standing.suspectedBy.map(({ name, why }) => ['', '', '', `suspected by ${name}: ${why}`]),
    ];
  });
  return [...formatViewLine(newestInstalledView(statuses), width), ...formatTable(['NAME', 'INCARNATION', 'EPOCH', 'VIEW'], rows)];
}
