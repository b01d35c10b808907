/**
 * Writes one run into the RunDb as its events arrive, one write at a time and
 * in arrival order. The first write that fails is reported once, so the page
 * can stop the run instead of training on with results it cannot keep, and
 * noted outside IndexedDB until the run's stopped status is stored.
 */
import type { EngineEvent, RunResults, RoundResult, SeriesName } from '../engine/results';
import { describeStorageFailure, type RunDb, type StoredRun, type StoredRunStatus } from './run-db';
import type { StoppedRunNotes } from './stopped-runs';

/** The highest round number stored in any series; null when none is. */
export function lastStoredRound(rounds: Record<SeriesName, RoundResult[]>): number | null {
  const numbers = Object.values(rounds).flatMap((results) => results.map((r) => r.round));
  return numbers.length ? Math.max(...numbers) : null;
}

export interface RecorderCallbacks {
  /** The run as stored after each successful write. */
  saved(run: StoredRun): void;
  /** The first failed write, in words for the user. */
  failed(message: string): void;
}

export class RunRecorder {
  private queue: Promise<void> = Promise.resolve();
  private failure: string | null = null;
  /** The highest round number stored so far: what a failure message names. */
  private lastRound: number | null;
  private readonly notes: StoppedRunNotes | null;

  constructor(
    private readonly db: RunDb,
    readonly id: string,
    private readonly callbacks: RecorderCallbacks,
    /** `lastRound`: of a resumed run, the highest round it had stored; `notes`: where a run stopped by a failed write is noted. */
    options: { lastRound?: number | null; notes?: StoppedRunNotes | null } = {},
  ) {
    this.lastRound = options.lastRound ?? null;
    this.notes = options.notes ?? null;
  }

  /** Why writing failed; null while every write succeeded. */
  get failureMessage(): string | null {
    return this.failure;
  }

  /** Stores a new run record. */
  create(run: StoredRun): void {
    this.enqueue(async () => {
      await this.db.put(run);
      return run;
    });
  }

  /** Marks the stored run as running again (resumed or continued), keeping everything it stored. */
  reopen(): void {
    this.enqueue(() => this.db.update(this.id, (run) => ({ ...run, status: 'running', error: null })));
  }

  record(event: EngineEvent): void {
    if (event.type === 'round') {
      this.enqueue(async () => {
        const run = await this.db.appendRound(this.id, event.series, event.result);
        this.lastRound = Math.max(this.lastRound ?? 0, event.result.round);
        return run;
      });
    } else if (event.type === 'view') {
      this.enqueue(() => this.db.saveView(this.id, event.view, event.data));
    } else if (event.type === 'checkpoint') {
      this.enqueue(() => this.db.saveCheckpoint(this.id, event.checkpoint));
    }
  }

  /**
   * Records how the run ended. Tried even after a failed write (deleting runs
   * may have freed space), and the failure stays the run's error message.
   * Resolves to whether the ending was stored.
   */
  async finish(status: StoredRunStatus, ending: { results?: RunResults; error?: string }): Promise<boolean> {
    let stored = false;
    this.enqueue(
      async () => {
        const run = await this.db.update(this.id, (run) => ({
          ...run,
          status,
          results: ending.results ?? run.results,
          // The results list round 0 of the controls, which the engine reported once, under the ticket.
          rounds: ending.results ? { ...run.rounds, ...ending.results.controls } : run.rounds,
          error: this.failure ?? ending.error ?? null,
        }));
        stored = true;
        if (status !== 'running') this.notes?.forget(this.id);
        return run;
      },
      { afterFailure: true },
    );
    await this.queue;
    return stored;
  }

  private enqueue(write: () => Promise<StoredRun>, { afterFailure = false } = {}): void {
    this.queue = this.queue.then(async () => {
      if (this.failure !== null && !afterFailure) return;
      try {
        this.callbacks.saved(await write());
      } catch (error) {
        if (this.failure !== null) return;
        this.failure = describeStorageFailure(error, this.lastRound);
        // Before anything else: the write that would mark the run stopped may fail as well.
        this.notes?.note(this.id, this.failure);
        this.callbacks.failed(this.failure);
      }
    });
  }
}
