/** A sweep's table as CSV: one row per run, one column per axis. Pure, so tests check it without a page. */
import type { SweepFile } from '../engine/sweep/record';
import { csvField } from './export';

export function sweepCsv(file: SweepFile): string {
  const paths = [...new Set(file.axes.map((axis) => axis.path))];
  const header = ['method', 'id', 'seed', 'default', ...paths, 'test_accuracy', 'percent_remaining', 'results'];
  const rows = file.runs.map((run) => [
    run.method,
    run.id,
    run.seed,
    run.default ? 1 : 0,
    // A path the run's method does not sweep stays empty; list values (earlybird.ratios) are written as JSON.
    ...paths.map((path) => (Object.hasOwn(run.values, path) ? (typeof run.values[path] === 'number' ? (run.values[path] as number) : JSON.stringify(run.values[path])) : '')),
    run.metric ?? '',
    run.remaining === null ? '' : Number(run.remaining.toPrecision(6)),
    run.results ?? '',
  ]);
  return [header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}
