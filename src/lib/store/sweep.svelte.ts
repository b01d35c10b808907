/**
 * The page's sweep: the sweep being edited (as JSON text), and the sweep
 * running. A sweep's runs go through the lab's run queue like any run, so
 * each is trained in the worker and kept in IndexedDB as any run; a run
 * belongs to the sweep by its config identity, so the sweep's progress and
 * summary are read from the stored runs, and after a reload the sweep
 * queues the runs it still lacks (the lab itself resumes the run the reload
 * cut off). Only the sweep's text is kept outside IndexedDB, in
 * localStorage, to know that a sweep was running.
 */
import type { ExperimentConfig } from '../engine/config';
import { identityText } from '../engine/identity';
import { pendingRecord, runMetric, sweepEtaSeconds, sweepFile, type SweepFile } from '../engine/sweep/record';
import { CONFIRM_RUNS_ABOVE, expandSweep, parseSweep, type SweepRun, type SweepSpec } from '../engine/sweep/spec';
import type { Lab } from './lab.svelte';
import type { StoredRun } from './run-db';

const ACTIVE_SWEEP_KEY = 'lottery-lab-sweep';

export interface ActiveSweep {
  text: string;
  spec: SweepSpec;
  runs: SweepRun[];
}

export interface SweepProgress {
  finished: number;
  total: number;
  /** Seconds left, from the mean time of the sweep's finished runs; null before the first has finished. */
  etaSeconds: number | null;
}

function parse(text: string): ActiveSweep {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`The sweep is not valid JSON: ${(error as Error).message}`);
  }
  const spec = parseSweep(raw);
  return { text, spec, runs: expandSweep(spec) };
}

/** A seed-only sweep of one experiment: its own seed and the next four. */
export function seedSweepText(config: ExperimentConfig): string {
  const { name, description: _description, backend: _backend, ...base } = config;
  const seeds = Array.from({ length: 5 }, (_, i) => config.seed + i);
  return JSON.stringify({ name: `${name} seeds`, base, seeds }, null, 2);
}

export class SweepState {
  /** The sweep as edited in the page. */
  text = $state('');
  /** The sweep as edited, validated and expanded, or what is wrong with it. */
  readonly draft: { value: ActiveSweep; error: null } | { value: null; error: string } = $derived.by(() => {
    try {
      return { value: parse(this.text), error: null };
    } catch (error) {
      return { value: null, error: (error as Error).message };
    }
  });
  /** The sweep last started (it stays shown once finished). */
  active = $state.raw<ActiveSweep | null>(null);
  /** Asks before a sweep of many runs starts; true to start it. */
  confirm: (question: string) => boolean = (question) => window.confirm(question);

  constructor(private readonly lab: Lab, initialText: string) {
    this.text = initialText;
  }

  /** The finished stored run of each of the active sweep's runs, by its identity text. */
  private readonly finishedRuns: Map<string, StoredRun> = $derived.by(() => {
    const done = new Map<string, StoredRun>();
    for (const run of this.lab.history.runs) if (run.status === 'done' && run.results) done.set(identityText(run.config), run);
    return done;
  });

  /** sweep.json of the active sweep as far as it has run. */
  readonly file: SweepFile | null = $derived.by(() => {
    const active = this.active;
    if (!active) return null;
    const records = active.runs.map((run) => {
      const stored = this.finishedRuns.get(identityText(run.config));
      const record = pendingRecord(run, stored?.id ?? '');
      const metric = stored?.results ? runMetric(stored.results.rounds, active.spec.metric) : null;
      return metric ? { ...record, metric: metric.value, remaining: metric.remaining, results: `IndexedDB run ${stored!.id}` } : record;
    });
    return sweepFile(active.spec, records);
  });

  readonly progress: SweepProgress | null = $derived.by(() => {
    const active = this.active;
    if (!active) return null;
    const distinct = new Set(active.runs.map((run) => identityText(run.config)));
    const finished = [...distinct].map((text) => this.finishedRuns.get(text)).filter((run) => run !== undefined);
    const seconds = finished.map((run) => run.results?.seconds ?? 0);
    return { finished: finished.length, total: distinct.size, etaSeconds: sweepEtaSeconds(seconds, distinct.size - finished.length) };
  });

  /** The configs of the active sweep with no finished stored run, each once. */
  private remaining(active: ActiveSweep): ExperimentConfig[] {
    const seen = new Set<string>();
    return active.runs.flatMap((run) => {
      const text = identityText(run.config);
      if (seen.has(text) || this.finishedRuns.has(text)) return [];
      seen.add(text);
      return [run.config];
    });
  }

  /** Starts the sweep as edited (asking first above CONFIRM_RUNS_ABOVE runs). */
  start(): void {
    const active = this.draft.value;
    if (!active || this.lab.run.active || this.lab.probing) return;
    if (active.runs.length > CONFIRM_RUNS_ABOVE && !this.confirm(`This sweep has ${active.runs.length} runs, more than ${CONFIRM_RUNS_ABOVE}. Start it?`)) return;
    this.active = active;
    localStorage.setItem(ACTIVE_SWEEP_KEY, active.text);
    this.lab.startQueue(this.remaining(active));
  }

  /** A seed-only sweep of a stored run ("run 5 seeds of this"), started at once. */
  startSeeds(config: ExperimentConfig): void {
    this.text = seedSweepText(config);
    this.start();
  }

  /** After the lab's init (which resumes a run a reload cut off): take up a sweep that was running, queueing the runs it lacks. */
  resumeAfterReload(): void {
    const text = localStorage.getItem(ACTIVE_SWEEP_KEY);
    if (!text) return;
    let active: ActiveSweep;
    try {
      active = parse(text);
    } catch {
      localStorage.removeItem(ACTIVE_SWEEP_KEY);
      return;
    }
    this.text = text;
    this.active = active;
    const running = this.lab.run.active ? this.lab.history.find(this.lab.currentRunId ?? '') : undefined;
    const left = this.remaining(active).filter((config) => !running || identityText(config) !== identityText(running.config));
    if (running) this.lab.queued = [...this.lab.queued, ...left];
    else this.lab.startQueue(left);
  }

  /** Forgets the active sweep (its runs stay in History). */
  clear(): void {
    this.active = null;
    localStorage.removeItem(ACTIVE_SWEEP_KEY);
  }
}
