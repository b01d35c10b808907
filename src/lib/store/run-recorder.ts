/**
 * Writes one run into the RunDb as its events arrive, one write at a time and
 * in arrival order. The first write that fails is reported once, so the page
 * can stop the run instead of training on with results it cannot keep.
 */
import type { EngineEvent, RunResults } from '../engine/results';
import { describeStorageFailure, type RunDb, type StoredRun, type StoredRunStatus } from './run-db';

export interface RecorderCallbacks {
  /** The run as stored after each successful write. */
  saved(run: StoredRun): void;
  /** The first failed write, in words for the user. */
  failed(message: string): void;
}

export class RunRecorder {
  private queue: Promise<void> = Promise.resolve();
  private failure: string | null = null;
  /** Rounds completed by the latest checkpoint the engine sent: what a failure message reports. */
  private roundsDone: number | null;

  constructor(
    private readonly db: RunDb,
    readonly id: string,
    private readonly callbacks: RecorderCallbacks,
    roundsDone: number | null = null,
  ) {
    this.roundsDone = roundsDone;
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
      this.enqueue(() => this.db.appendRound(this.id, event.series, event.result));
    } else if (event.type === 'view') {
      this.enqueue(() => this.db.saveView(this.id, event.view, event.data));
    } else if (event.type === 'checkpoint') {
      this.roundsDone = event.checkpoint.round;
      this.enqueue(() => this.db.saveCheckpoint(this.id, event.checkpoint));
    }
  }

  /**
   * Records how the run ended. Tried even after a failed write (deleting runs
   * may have freed space), and the failure stays the run's error message.
   */
  finish(status: StoredRunStatus, ending: { results?: RunResults; error?: string }): Promise<void> {
    this.enqueue(
      () =>
        this.db.update(this.id, (run) => ({
          ...run,
          status,
          results: ending.results ?? run.results,
          // The results list round 0 of the controls, which the engine reported once, under the ticket.
          rounds: ending.results ? { ...run.rounds, ...ending.results.controls } : run.rounds,
          error: this.failure ?? ending.error ?? null,
        })),
      { afterFailure: true },
    );
    return this.queue;
  }

  private enqueue(write: () => Promise<StoredRun>, { afterFailure = false } = {}): void {
    // The round the engine had reached when this write was asked for, not when it failed.
    const roundsDone = this.roundsDone;
    this.queue = this.queue.then(async () => {
      if (this.failure !== null && !afterFailure) return;
      try {
        this.callbacks.saved(await write());
      } catch (error) {
        if (this.failure !== null) return;
        this.failure = describeStorageFailure(error, roundsDone);
        this.callbacks.failed(this.failure);
      }
    });
  }
}
