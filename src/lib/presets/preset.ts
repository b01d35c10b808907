/**
 * What a classroom preset is, and the reading of a finished run that every
 * preset's guidance shares. A preset's experiment is a file under
 * experiments/presets/ (the CLI runs the same file); its guidance quotes the
 * user's own run, never numbers measured once elsewhere.
 */
import { parseConfig, type ExperimentConfig } from '../engine/config';
import type { RunResults } from '../engine/results';
import { formatPercent } from '../ui/format';

export interface Preset {
  /** The preset's file name in experiments/presets/, without `.json`. */
  id: string;
  /** The question the run answers. */
  title: string;
  /** Shown until a run of the preset has finished: what to watch, and the outcome the method's claim expects, in words. */
  lookFor: string;
  /** experiments/presets/<id>.json, validated, defaults filled in. */
  config: ExperimentConfig;
  /**
   * The seeds a full run trains, one run each, drawn as one mean line with a
   * band; the first is the file's own seed, the one a quick run trains.
   */
  seeds: readonly number[];
  /**
   * Once runs of exactly this experiment finished (one per seed, in the
   * order of `seeds`): what they showed, quoting their own numbers as mean
   * and spread over the seeds, beside the expected outcome in words.
   */
  readRuns(runs: readonly RunResults[]): string;
}

/** A preset from its experiment file's contents; an invalid file or seed list fails here, naming the preset. */
export function definePreset(file: unknown, preset: Omit<Preset, 'config'>): Preset {
  const where = `experiments/presets/${preset.id}.json`;
  let config: ExperimentConfig;
  try {
    config = parseConfig(file);
  } catch (error) {
    throw new Error(`${where}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const { seeds } = preset;
  if (seeds[0] !== config.seed || new Set(seeds).size !== seeds.length || seeds.length > 5) {
    throw new Error(`${where}: the preset's seeds (${seeds.join(', ')}) must be at most five distinct seeds starting with the file's seed ${config.seed}`);
  }
  return { ...preset, config };
}

/** The noise of a gap between two accuracies (the engine's transfer verdict uses the same). */
export { noiseMargin } from '../engine/stats';
/** One measure over a preset's seeds: its mean, and the least and largest value (the chart's band). */
export interface Spread {
  mean: number;
  min: number;
  max: number;
  count: number;
}

export function spreadOf(values: readonly number[]): Spread {
  if (values.length === 0) throw new Error('no value to spread');
  return {
    mean: values.reduce((sum, x) => sum + x, 0) / values.length,
    min: Math.min(...values),
    max: Math.max(...values),
    count: values.length,
  };
}

/** A fraction's spread as percent: "71.0% ± 1.2" (mean ± half the min-max band); one value: "71.0%". */
export function formatSpread(spread: Spread): string {
  if (spread.count === 1) return formatPercent(spread.mean);
  return `${formatPercent(spread.mean)} ± ${((spread.max - spread.min) * 50).toFixed(1)}`;
}

/** A count's spread (epochs, rounds): "6.3 ± 1.5" or, for one value or no spread, the number. */
export function formatCountSpread(spread: Spread): string {
  if (spread.max === spread.min) return String(spread.mean);
  return `${spread.mean.toFixed(1)} ± ${((spread.max - spread.min) / 2).toFixed(1)}`;
}

/** Where band `a` lies against band `b`: wholly above, wholly below, or overlapping. */
export function compareBands(a: Spread, b: Spread): 'above' | 'below' | 'overlap' {
  if (a.min > b.max) return 'above';
  if (a.max < b.min) return 'below';
  return 'overlap';
}

/** Said whenever two bands the finding rests on overlap. */
export const BANDS_OVERLAP = 'the bands overlap here: more rounds or seeds would tell';

/** Said of a quick (one-seed) run: it has no spread to judge a gap by. */
export function oneSeedNote(seeds: readonly number[]): string {
  return `One seed has no spread to judge a gap by: run all ${seeds.length} seeds (untick the quick run) to see whether it is more than seed noise.`;
}

/** "seed 1" or "seeds 1, 2, 3": which runs the numbers are from. */
export function seedsOf(runs: readonly RunResults[]): string {
  const seeds = runs.map((run) => run.config.seed);
  return seeds.length === 1 ? `seed ${seeds[0]}` : `seeds ${seeds.join(', ')}`;
}

/** Mean ± half the band, over seeds: how the numbers are summed up. */
export const SPREAD_NOTE = 'mean ± half the range over seeds, as the chart draws its band';

/** A gap between accuracies in points: 0.049 → "4.9 points". */
export function formatPoints(fraction: number): string {
  return `${(fraction * 100).toFixed(1)} points`;
}

/** "seed 1": which run the numbers are from. */
export function seedOf(results: RunResults): string {
  return `seed ${results.config.seed}`;
}

/** Accuracy of always guessing one class. */
export function chance(results: RunResults): string {
  return formatPercent(1 / results.dataset.classes);
}

/** Weights remaining from a sparsity: 0.78 → "22.0%". */
export function remaining(sparsity: number): string {
  return formatPercent(1 - sparsity);
}
