/**
 * The stored runs as the page shows them: the list (kept in step with every
 * write), which ones are overlaid on the accuracy chart, rename and delete.
 */
import { RunDb, type StoredRun } from './run-db';

export class RunHistory {
  /** Newest first. */
  runs = $state.raw<StoredRun[]>([]);
  /** Runs the user ticked to overlay on the accuracy chart. */
  compared = $state.raw<ReadonlySet<string>>(new Set());
  /** Why the browser's storage could not be opened or changed. */
  error = $state<string | null>(null);
  private db: RunDb | null = null;

  /** Opens the database and reads the list; null when the browser offers no storage (the lab still runs, unsaved). */
  async open(): Promise<RunDb | null> {
    try {
      this.db = await RunDb.open();
      this.runs = await this.db.list();
    } catch (error) {
      this.error = `Runs cannot be kept in this browser (${error instanceof Error ? error.message : String(error)}): history and resume after a reload are off.`;
    }
    return this.db;
  }

  find(id: string): StoredRun | undefined {
    return this.runs.find((run) => run.id === id);
  }

  /** Shows a run as just stored, adding it when new. */
  replace(run: StoredRun): void {
    const known = this.runs.some((r) => r.id === run.id);
    this.runs = known ? this.runs.map((r) => (r.id === run.id ? run : r)) : [run, ...this.runs];
  }

  /** Keeps a run imported from a results.json (in memory where storage is off) and ticks it for the chart. */
  async importRun(run: StoredRun): Promise<void> {
    if (this.db) await this.change(() => this.db!.put(run));
    this.replace(run);
    if (!this.compared.has(run.id)) this.toggleCompare(run.id);
  }

  toggleCompare(id: string): void {
    const compared = new Set(this.compared);
    if (!compared.delete(id)) compared.add(id);
    this.compared = compared;
  }

  async rename(id: string, name: string): Promise<void> {
    const trimmed = name.trim();
    if (!this.db || trimmed === '') return;
    await this.change(() => this.db!.update(id, (run) => ({ ...run, name: trimmed })).then((run) => this.replace(run)));
  }

  async delete(id: string): Promise<void> {
    if (!this.db) return;
    await this.change(async () => {
      await this.db!.delete(id);
      this.runs = this.runs.filter((run) => run.id !== id);
      if (this.compared.has(id)) this.toggleCompare(id);
    });
  }

  private async change(write: () => Promise<void>): Promise<void> {
    try {
      await write();
      this.error = null;
    } catch (error) {
      this.error = `The change could not be saved in the browser's storage: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
}
