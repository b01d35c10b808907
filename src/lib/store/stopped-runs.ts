/**
 * Runs stopped because the browser's storage failed, remembered in
 * localStorage until their stopped status is in IndexedDB. With a full disk
 * the write that would mark the run stopped fails too, and a run stored as
 * `running` is resumed after a reload (to fill the disk again): these notes
 * keep it stopped. localStorage is a separate, small store, and each note
 * is a run id and one sentence.
 */
import type { StoredRun } from './run-db';

const KEY = 'lottery-lab-stopped-runs';

/** The part of the Web Storage API the notes use. */
export type NoteStorage = Pick<Storage, 'getItem' | 'setItem'>;

function browserStorage(): NoteStorage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    // Storage blocked by the browser's settings: the run is still stopped in this page.
    return null;
  }
}

export class StoppedRunNotes {
  constructor(private readonly storage: NoteStorage | null = browserStorage()) {}

  /** Why each noted run was stopped, by run id. */
  reasons(): Map<string, string> {
    try {
      const parsed: unknown = JSON.parse(this.storage?.getItem(KEY) ?? '[]');
      if (!Array.isArray(parsed)) return new Map();
      return new Map(parsed.filter((entry): entry is [string, string] => Array.isArray(entry) && entry.every((part) => typeof part === 'string')));
    } catch {
      return new Map();
    }
  }

  note(id: string, reason: string): void {
    this.save(new Map(this.reasons()).set(id, reason));
  }

  forget(id: string): void {
    const reasons = this.reasons();
    if (reasons.delete(id)) this.save(reasons);
  }

  /** Stored runs still `running` that a note says were stopped, as they should be stored. */
  stoppedRuns(runs: readonly StoredRun[]): StoredRun[] {
    const reasons = this.reasons();
    return runs.flatMap((run) => {
      const reason = reasons.get(run.id);
      return run.status === 'running' && reason !== undefined ? [{ ...run, status: 'stopped' as const, error: reason }] : [];
    });
  }

  private save(reasons: Map<string, string>): void {
    try {
      this.storage?.setItem(KEY, JSON.stringify([...reasons]));
    } catch {
      // Nowhere left to write: the run is still stopped in this page.
    }
  }
}
