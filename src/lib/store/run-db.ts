/**
 * Every run the page starts, kept in IndexedDB: its config, status, rounds as
 * they arrive, latest method views, final results, and its latest checkpoint
 * (in a store of its own, so listing runs never reads weights).
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { Checkpoint, Ticket } from '../engine/checkpoint';
import type { ExperimentConfig } from '../engine/config';
import type { RoundResult, RunResults, SeriesName } from '../engine/results';

export type StoredRunStatus = 'running' | 'done' | 'stopped' | 'failed' | 'interrupted';

export interface StoredRun {
  id: string;
  name: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  config: ExperimentConfig;
  status: StoredRunStatus;
  /** Every finished round, by series, one per round number. */
  rounds: Record<SeriesName, RoundResult[]>;
  /** Latest data of each method-specific view, by view name. */
  views: Record<string, unknown>;
  results: RunResults | null;
  /** Why the run failed, stopped early or was interrupted; null when nothing went wrong. */
  error: string | null;
  /** Rounds completed by the latest checkpoint (the method's count); null before the first. */
  checkpointRound: number | null;
  /** Whether the latest checkpoint holds a ticket to download. */
  hasTicket: boolean;
  /** The imported ticket a `retrain` run retrains, kept so the run can resume. */
  ticket: Ticket | null;
}

/** A run about to start: nothing trained or stored for it yet. */
export function newStoredRun(id: string, config: ExperimentConfig, ticket: Ticket | null, createdAt = Date.now()): StoredRun {
  return {
    id,
    name: config.name,
    createdAt,
    config,
    status: 'running',
    rounds: {},
    views: {},
    results: null,
    error: null,
    checkpointRound: null,
    hasTicket: false,
    ticket,
  };
}

interface LabSchema extends DBSchema {
  runs: { key: string; value: StoredRun };
  /** The latest checkpoint of each run, by run id. */
  checkpoints: { key: string; value: Checkpoint };
}

const DB_NAME = 'lottery-lab';
const DB_VERSION = 1;

/** Puts the round in its series, replacing a round of the same number (a resumed run may redo the round a reload cut off). */
export function withRound(
  rounds: Record<SeriesName, RoundResult[]>,
  series: SeriesName,
  result: RoundResult,
): Record<SeriesName, RoundResult[]> {
  const others = (rounds[series] ?? []).filter((r) => r.round !== result.round);
  return { ...rounds, [series]: [...others, result].sort((a, b) => a.round - b.round) };
}

export class RunDb {
  private constructor(private readonly db: IDBPDatabase<LabSchema>) {}

  static async open(name = DB_NAME): Promise<RunDb> {
    const db = await openDB<LabSchema>(name, DB_VERSION, {
      upgrade(database) {
        database.createObjectStore('runs', { keyPath: 'id' });
        database.createObjectStore('checkpoints');
      },
    });
    return new RunDb(db);
  }

  /** Every stored run, newest first. */
  async list(): Promise<StoredRun[]> {
    const runs = await this.db.getAll('runs');
    return runs.sort((a, b) => b.createdAt - a.createdAt);
  }

  get(id: string): Promise<StoredRun | undefined> {
    return this.db.get('runs', id);
  }

  async put(run: StoredRun): Promise<void> {
    await this.db.put('runs', run);
  }

  /** Changes one stored run in a single transaction; returns it as stored. */
  async update(id: string, change: (run: StoredRun) => StoredRun): Promise<StoredRun> {
    const tx = this.db.transaction('runs', 'readwrite');
    const run = await tx.store.get(id);
    if (!run) throw new Error(`No stored run with id ${id}`);
    const changed = change(run);
    await Promise.all([tx.store.put(changed), tx.done]);
    return changed;
  }

  appendRound(id: string, series: SeriesName, result: RoundResult): Promise<StoredRun> {
    return this.update(id, (run) => ({ ...run, rounds: withRound(run.rounds, series, result) }));
  }

  saveView(id: string, view: string, data: unknown): Promise<StoredRun> {
    return this.update(id, (run) => ({ ...run, views: { ...run.views, [view]: data } }));
  }

  /** Replaces the run's checkpoint and records its round, atomically. */
  async saveCheckpoint(id: string, checkpoint: Checkpoint): Promise<StoredRun> {
    const tx = this.db.transaction(['runs', 'checkpoints'], 'readwrite');
    const runs = tx.objectStore('runs');
    const run = await runs.get(id);
    if (!run) throw new Error(`No stored run with id ${id}`);
    const changed = { ...run, checkpointRound: checkpoint.round, hasTicket: checkpoint.ticket !== null };
    await Promise.all([tx.objectStore('checkpoints').put(checkpoint, id), runs.put(changed), tx.done]);
    return changed;
  }

  getCheckpoint(id: string): Promise<Checkpoint | undefined> {
    return this.db.get('checkpoints', id);
  }

  /** Deletes the run and its checkpoint. */
  async delete(id: string): Promise<void> {
    const tx = this.db.transaction(['runs', 'checkpoints'], 'readwrite');
    await Promise.all([tx.objectStore('runs').delete(id), tx.objectStore('checkpoints').delete(id), tx.done]);
  }

  close(): void {
    this.db.close();
  }
}

/** A write failure in words, naming the last round that is stored (`lastRound`, null for none): a full disk says so and what to do about it. */
export function describeStorageFailure(error: unknown, lastRound: number | null): string {
  const kept = lastRound === null ? 'no round of it is stored' : `the last round stored is round ${lastRound}`;
  // Browsers report a full disk as a QuotaExceededError, on the request or as the transaction's error.
  const isQuota = (error as { name?: unknown } | null)?.name === 'QuotaExceededError';
  if (isQuota) return `The browser's storage is full: the run was stopped, and ${kept}. Delete old runs in History to free space.`;
  const reason = error instanceof Error ? error.message : String(error);
  return `The run could not be saved in the browser's storage (${reason}): it was stopped so no results are lost unsaved, and ${kept}.`;
}
