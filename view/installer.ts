// Installing a chosen view, as a pure state machine (docs/design.md, "Installing a view"):
//   0. every database of the view learns that it was chosen: it fences the lives the view
//      removed from then on, and a database the view newly lists as joining clears its store
//      now, before the stop below sends it any APPLY (whether or not it accepted the view);
//   1. every member of the new view stops validating in its old view and answers its clock
//      (undecided transactions abort; decided ones are finished first);
//   2. every recent-commits record, on every database of the view, whose coordinator is not a
//      member of the new view is recovered: the stored entries of its keys are copied to every
//      database (the newest entry of each key among them: every stored entry is committed), and
//      only once all of them have it are the records dropped;
//   3. INSTALL goes to every member with a clock above every member clock and every database's
//      largest stored version.
// Every step is idempotent, so any member may run (or run again) the installation of a view
// another began. A transaction of a removed coordinator found on no database was never
// acknowledged (acknowledgement needs every database), so it is aborted by being forgotten.
import { invariant } from '../errors/invariant.js';
import { isBefore, type Timestamp } from '../timestamp/timestamp.js';
import { databasesOf } from './changes.js';
import type { Member, View } from './types.js';

type Key = string;

/** One transaction in a database's recent-commits log. */
export interface CommitRecord {
  ts: Timestamp;
  coordinator: Member;
  keys: Key[];
}

/** A stored entry: no value is a tombstone (or a key never written, at version zero). */
export interface StoredEntry {
  key: Key;
  version: Timestamp;
  value?: unknown;
}

export type InstallationEvent =
  | { type: 'announced'; database: number }
  | { type: 'stopped'; member: number; clock: number }
  | { type: 'commits-read'; database: number; records: CommitRecord[]; maxVersion: Timestamp }
  | { type: 'entries-read'; database: number; entries: StoredEntry[] }
  | { type: 'recovered'; database: number }
  | { type: 'dropped'; database: number }
  | { type: 'installed'; member: number }
  /** The shell's timer: ask again whoever has not answered this step (messages get lost). */
  | { type: 'resend' };

export type InstallationEffect =
  /** The view was chosen: db.chosen. */
  | { type: 'announce'; to: number[]; view: View }
  | { type: 'send-stop'; to: number[]; view: View }
  /** Records of every coordinator that is not one of `members`, and the largest stored version. */
  | { type: 'read-commits'; from: number[]; members: Member[] }
  | { type: 'read-entries'; from: number[]; keys: Key[] }
  | { type: 'recover'; to: number[]; entries: StoredEntry[] }
  | { type: 'drop'; to: number[]; records: Timestamp[] }
  | { type: 'send-install'; to: number[]; view: View; clock: number }
  /** Every member installed `view`; `recovered`: transactions of removed coordinators completed. */
  | { type: 'done'; view: View; clock: number; recovered: number };

export type InstallationPhase = 'idle' | 'announcing' | 'stopping' | 'reading-commits' | 'reading-entries' | 'recovering' | 'dropping' | 'installing' | 'done';

export class Installation {
  private phaseNow: InstallationPhase = 'idle';
  private readonly members: number[];
  private readonly databases: number[];
  /** Who answered the step running now. */
  private answered = new Set<number>();
  private clock = 0;
  /** Record timestamps found, by their string form, and the keys of all of them. */
  private readonly records = new Map<string, Timestamp>();
  private readonly keys = new Set<Key>();
  /** The newest stored entry of each key among the databases' answers. */
  private readonly newest = new Map<Key, StoredEntry>();

  /** `skipRecovery`: a fault for tests (the step of recovery is left out), never set in production. */
  /** `recoverReplicasOnly`: a fault for tests (the joining databases are left out of recovery), never set in production. */
  constructor(readonly view: View, private readonly options: { skipRecovery?: boolean; recoverReplicasOnly?: boolean } = {}) {
    this.members = view.members.map((member) => member.id);
    this.databases = options.recoverReplicasOnly ? [...view.replicas] : databasesOf(view);
    invariant(this.databases.length > 0, `view ${view.epoch} has databases`);
  }

  get phase(): InstallationPhase {
    return this.phaseNow;
  }

  /** Transactions of removed coordinators found (so far), to be completed. */
  get recovered(): number {
    return this.records.size;
  }

  start(): InstallationEffect[] {
    invariant(this.phaseNow === 'idle', 'an installation starts once');
    return this.enter('announcing');
  }

  handle(event: InstallationEvent): InstallationEffect[] {
    if (event.type === 'resend') return this.ask(this.waitingFor());
    switch (this.phaseNow) {
      case 'announcing':
        if (event.type !== 'announced' || !this.answer(event.database, this.databases)) return [];
        return this.complete() ? this.enter('stopping') : [];
      case 'stopping':
        if (event.type !== 'stopped' || !this.answer(event.member, this.members)) return [];
        this.clock = Math.max(this.clock, event.clock);
        return this.complete() ? this.enter('reading-commits') : [];
      case 'reading-commits':
        if (event.type !== 'commits-read' || !this.answer(event.database, this.databases)) return [];
        this.clock = Math.max(this.clock, event.maxVersion[0]);
        for (const record of event.records) {
          this.records.set(record.ts.join('.'), record.ts);
          for (const key of record.keys) this.keys.add(key);
        }
        if (!this.complete()) return [];
        return this.enter(this.records.size === 0 || this.options.skipRecovery ? 'installing' : 'reading-entries');
      case 'reading-entries':
        if (event.type !== 'entries-read' || !this.answer(event.database, this.databases)) return [];
        for (const entry of event.entries) {
          const known = this.newest.get(entry.key);
          if (!known || isBefore(known.version, entry.version)) this.newest.set(entry.key, entry);
          this.clock = Math.max(this.clock, entry.version[0]);
        }
        return this.complete() ? this.enter('recovering') : [];
      case 'recovering':
        if (event.type !== 'recovered' || !this.answer(event.database, this.databases)) return [];
        return this.complete() ? this.enter('dropping') : [];
      case 'dropping':
        if (event.type !== 'dropped' || !this.answer(event.database, this.databases)) return [];
        return this.complete() ? this.enter('installing') : [];
      case 'installing':
        if (event.type !== 'installed' || !this.answer(event.member, this.members)) return [];
        if (!this.complete()) return [];
        this.phaseNow = 'done';
        return [{ type: 'done', view: this.view, clock: this.installClock, recovered: this.records.size }];
      case 'idle':
      case 'done':
        return [];
    }
  }

  /** Records an answer from one of `expected`; false for a stranger's or a repeated one. */
  private answer(from: number, expected: number[]): boolean {
    if (!expected.includes(from) || this.answered.has(from)) return false;
    this.answered.add(from);
    return true;
  }

  /** Strictly above every clock and version seen: the members' next timestamps are larger than all of them. */
  private get installClock(): number {
    return this.clock + 1;
  }

  private complete(): boolean {
    return this.waitingFor().length === 0;
  }

  private waitingFor(): number[] {
    const expected = this.phaseNow === 'stopping' || this.phaseNow === 'installing' ? this.members : this.databases;
    if (this.phaseNow === 'idle' || this.phaseNow === 'done') return [];
    return expected.filter((id) => !this.answered.has(id));
  }

  private enter(phase: InstallationPhase): InstallationEffect[] {
    this.phaseNow = phase;
    this.answered = new Set();
    // A view without members (the last one left) has nobody to stop or to install at.
    if ((phase === 'stopping' || phase === 'installing') && this.members.length === 0) {
      if (phase === 'stopping') return this.enter('reading-commits');
      this.phaseNow = 'done';
      return [{ type: 'done', view: this.view, clock: this.installClock, recovered: this.records.size }];
    }
    return this.ask(this.waitingFor());
  }

  private ask(to: number[]): InstallationEffect[] {
    if (to.length === 0) return [];
    switch (this.phaseNow) {
      case 'announcing': return [{ type: 'announce', to, view: this.view }];
      case 'stopping': return [{ type: 'send-stop', to, view: this.view }];
      case 'reading-commits': return [{ type: 'read-commits', from: to, members: this.view.members.map((member) => ({ ...member })) }];
      case 'reading-entries': return [{ type: 'read-entries', from: to, keys: [...this.keys].sort() }];
      case 'recovering': return [{ type: 'recover', to, entries: [...this.newest.values()].sort((a, b) => (a.key < b.key ? -1 : 1)) }];
      case 'dropping': return [{ type: 'drop', to, records: [...this.records.values()] }];
      case 'installing': return [{ type: 'send-install', to, view: this.view, clock: this.installClock }];
      case 'idle':
      case 'done':
        return [];
    }
  }
}
