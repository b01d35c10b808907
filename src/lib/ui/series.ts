/** How each run series is named and coloured in charts and tables, and how runs become lines of the accuracy chart. */
import { settingText } from '../engine/identity';
import type { RoundResult, SeriesName } from '../engine/results';
import type { ChartRun } from '../store/lab.svelte';
import { percentRemaining } from './format';

const KNOWN_SERIES: Record<string, { label: string; color: string }> = {
  ticket: { label: 'Ticket', color: '#2f7fe0' },
  randomReinit: { label: 'Random reinit', color: '#e8772e' },
  randomPrune: { label: 'Random pruning', color: '#1fa37a' },
  earlybird: { label: 'EarlyBird', color: '#7a5cc7' },
  worm: { label: 'WORM', color: '#d64545' },
  colt: { label: 'COLT', color: '#c9a227' },
  imp: { label: 'IMP', color: '#2f7fe0' },
};

/** For series a method adds later; mid-tone so they read on light and dark backgrounds. */
const OTHER_COLORS = ['#9b59d0', '#d64545', '#c9a227', '#3aa6b9'];

export function seriesLabel(name: SeriesName): string {
  return KNOWN_SERIES[name]?.label ?? name;
}

/** `index`: the series' place among those shown, so unknown series get distinct colours. */
export function seriesColor(name: SeriesName, index: number): string {
  return KNOWN_SERIES[name]?.color ?? OTHER_COLORS[index % OTHER_COLORS.length];
}

/** Colours of runs beside each other on one chart (Tableau 10): one per line once several runs are shown. */
const COMPARISON_COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

export type Measure = 'final' | 'earlyStop';
export type AccuracyPoint = { x: number; y: number };

/** One line of the accuracy chart: a run's series, or the mean of several seeds of one setting with their min-max band. */
export interface AccuracyLine {
  /** Stable across updates, so a line hidden from the legend stays hidden as rounds arrive. */
  key: string;
  label: string;
  series: SeriesName;
  measure: Measure;
  runIds: string[];
  color: string;
  /** x: percent of weights remaining; y: test accuracy (%), the mean over seeds. */
  points: AccuracyPoint[];
  /** Lowest and highest accuracy over the seeds at each point; null for a single run. */
  band: { min: AccuracyPoint[]; max: AccuracyPoint[] } | null;
}

/** A measure's accuracy of a round; null where the run has none (no early stop without a validation split). */
const MEASURES: Record<Measure, { suffix: string; accuracy: (r: RoundResult) => number | null }> = {
  final: { suffix: '', accuracy: (r) => r.testAccuracy },
  earlyStop: { suffix: ' (early stop)', accuracy: (r) => r.testAccuracyAtEarlyStop },
};

function mean(values: number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

/** Every run's series as lines, oldest run first; runs that differ only in seed become one mean line with a band. */
export function accuracyLines(runs: readonly ChartRun[]): AccuracyLine[] {
  // Seeds of one setting (identity.ts) share a line. A run whose seed the
  // setting's line already holds is a repeat, not another seed (the same
  // experiment run again, or run elsewhere and imported, such as its PyTorch
  // export): it gets a line of its own, so the two can be compared.
  const groups: { setting: string; runs: ChartRun[] }[] = [];
  for (const run of runs) {
    const setting = settingText(run.config);
    const group = groups.find((g) => g.setting === setting && g.runs.every((other) => other.config.seed !== run.config.seed));
    if (group) group.runs.push(run);
    else groups.push({ setting, runs: [run] });
  }
  const lines: AccuracyLine[] = [];
  // Runs often share a name (a re-run, a ticket retrained): later ones are told apart by their place.
  const timesNamed = new Map<string, number>();
  let seriesCount = 0;
  for (const { runs: group } of groups) {
    const seeds = group.length;
    const named = (timesNamed.get(group[0].name) ?? 0) + 1;
    timesNamed.set(group[0].name, named);
    const runName = named > 1 ? `${group[0].name} #${named}` : group[0].name;
    const name = seeds > 1 ? `${runName} (mean of ${seeds} seeds)` : runName;
    const seriesNames = [...new Set(group.flatMap((run) => Object.keys(run.rounds)))];
    for (const series of seriesNames) {
      const byRound = new Map<number, RoundResult[]>();
      for (const result of group.flatMap((run) => run.rounds[series] ?? [])) byRound.set(result.round, [...(byRound.get(result.round) ?? []), result]);
      const rounds = [...byRound.entries()].sort(([a], [b]) => a - b).map(([, results]) => results);
      // Both measures of a series share its colour; a lone run keeps the series colours tables use.
      const seriesIndex = seriesCount++;
      const color = groups.length === 1 ? seriesColor(series, seriesIndex) : COMPARISON_COLORS[seriesIndex % COMPARISON_COLORS.length];
      for (const [measure, { suffix, accuracy }] of Object.entries(MEASURES) as [Measure, (typeof MEASURES)[Measure]][]) {
        // Rounds without this measure (any seed) are left out; a measure no round has draws no line.
        const measured = rounds.filter((results) => results.every((r) => accuracy(r) !== null));
        if (measured.length === 0) continue;
        const at = (results: RoundResult[], y: number) => ({ x: mean(results.map((r) => percentRemaining(r.sparsity))), y });
        const values = measured.map((results) => results.map((r) => accuracy(r)! * 100));
        lines.push({
          key: `${group.map((run) => run.id).join('+')}|${series}|${measure}`,
          label: `${name} · ${seriesLabel(series)}${suffix}`,
          series,
          measure,
          runIds: group.map((run) => run.id),
          color,
          points: measured.map((results, i) => at(results, mean(values[i]))),
          band:
            seeds > 1 && measure === 'final'
              ? {
                  min: measured.map((results, i) => at(results, Math.min(...values[i]))),
                  max: measured.map((results, i) => at(results, Math.max(...values[i]))),
                }
              : null,
        });
      }
    }
  }
  return lines;
}
