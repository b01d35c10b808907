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
  /** Once a run of exactly this experiment finished: what it showed, quoting its own numbers, beside the expected outcome in words. */
  readRun(results: RunResults): string;
}

/** A preset from its experiment file's contents; an invalid file fails here, naming the preset. */
export function definePreset(file: unknown, preset: Omit<Preset, 'config'>): Preset {
  try {
    return { ...preset, config: parseConfig(file) };
  } catch (error) {
    throw new Error(`experiments/presets/${preset.id}.json: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The noise of a gap between two accuracies (the engine's transfer verdict uses the same). */
export { noiseMargin } from '../engine/stats';

/** 0.034 → "3.4 points". */
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
