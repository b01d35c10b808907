/**
 * sweep.json: the sweep as run (base, axes with the values drawn, seeds),
 * one entry per run (its identity, method, axis values, seed, metric and
 * where its results.json lies) and the summary (stats.ts). The CLI writes
 * it; the page builds the same object for its export.
 */
import type { RoundResult } from '../results';
import type { SweepAxis, SweepMetric, SweepRun, SweepSpec } from './spec';
import { summarizeSweep, type SweepOutcome, type SweepSummary } from './stats';

export interface SweepRunRecord {
  /** The run's config identity (identity.ts): its results folder is named by it. */
  id: string;
  method: string;
  values: Record<string, unknown>;
  seed: number;
  default: boolean;
  /** The sweep's metric; null until the run has finished. */
  metric: number | null;
  /** Percent of weights remaining at the round the metric was read from; null until finished. */
  remaining: number | null;
  /** Path of its results.json relative to sweep.json; null until finished. */
  results: string | null;
}

export interface SweepFile {
  name: string;
  description?: string;
  base: Record<string, unknown>;
  methods: SweepSpec['arms'];
  axes: SweepAxis[];
  seeds: number[];
  metric: SweepMetric;
  runs: SweepRunRecord[];
  summary: SweepSummary;
}

/**
 * The metric of one run from its main series' rounds: test accuracy (at the
 * end of training, or at early stop) of the last round, or of the round whose
 * weights remaining are nearest `metric.remaining`.
 */
export function runMetric(rounds: readonly RoundResult[], metric: SweepMetric): { value: number; remaining: number } | null {
  if (rounds.length === 0) return null;
  const target = metric.remaining;
  const round =
    target === undefined
      ? rounds[rounds.length - 1]
      : rounds.reduce((a, b) => (Math.abs(1 - b.sparsity - target) < Math.abs(1 - a.sparsity - target) ? b : a));
  const value = metric.earlyStop ? (round.testAccuracyAtEarlyStop ?? round.testAccuracy) : round.testAccuracy;
  return { value, remaining: 100 * (1 - round.sparsity) };
}

export function sweepFile(spec: SweepSpec, records: SweepRunRecord[]): SweepFile {
  const outcomes: SweepOutcome[] = records.flatMap((record) =>
    record.metric === null ? [] : [{ arm: record.method, values: record.values, seed: record.seed, isDefault: record.default, metric: record.metric }],
  );
  return {
    name: spec.name,
    ...(spec.description === undefined ? {} : { description: spec.description }),
    base: spec.base,
    methods: spec.arms,
    axes: spec.axes,
    seeds: spec.seeds,
    metric: spec.metric,
    runs: records,
    summary: summarizeSweep(outcomes, spec.arms.map((arm) => arm.name)),
  };
}

/** A record for a run not yet finished. */
export function pendingRecord(run: SweepRun, id: string): SweepRunRecord {
  return { id, method: run.arm, values: run.values, seed: run.seed, default: run.isDefault, metric: null, remaining: null, results: null };
}

/**
 * Seconds the rest of a sweep should take, from the runs it has finished:
 * their mean duration times the runs left (over `jobs` at once); null
 * before the first run has finished, when there is no speed to go on.
 */
export function sweepEtaSeconds(finishedSeconds: readonly number[], runsLeft: number, jobs = 1): number | null {
  if (finishedSeconds.length === 0) return runsLeft === 0 ? 0 : null;
  const perRun = finishedSeconds.reduce((a, b) => a + b, 0) / finishedSeconds.length;
  return (perRun * runsLeft) / jobs;
}
