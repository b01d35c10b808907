/**
 * Classroom presets: one question each, an experiment sized to finish in
 * minutes on the built-in synthetic set (no download), and guidance. Each
 * experiment is a file in experiments/presets/ that the CLI runs as it is
 * (`npm run experiment -- experiments/presets/<id>.json`) and the page
 * bundles. Choosing one replaces the builder's draft; the guidance shows
 * while the draft is still that preset's experiment: what to look for until
 * a run of it has finished, then what that run showed, in its own numbers.
 */
import type { ExperimentConfig } from '../engine/config';
import { identityText } from '../engine/identity';
import type { RunResults } from '../engine/results';
import { COLT_VS_IMP } from './colt-vs-imp';
import { EARLY_BIRD } from './early-bird';
import { HIDDEN_NETWORK } from './hidden-network';
import { KERNEL_SIZES } from './kernel-sizes';
import type { Preset } from './preset';
import { PRUNE_LENET } from './prune-lenet';
import { TICKET_VS_RANDOM } from './ticket-vs-random';
import { WHICH_FILTERS } from './which-filters';

export type { Preset } from './preset';

export const PRESETS: readonly Preset[] = [TICKET_VS_RANDOM, EARLY_BIRD, COLT_VS_IMP, PRUNE_LENET, WHICH_FILTERS, HIDDEN_NETWORK, KERNEL_SIZES];

/** The preset's config as the builder holds it: validated, defaults filled in, a copy of its own. */
export function presetConfig(preset: Preset): ExperimentConfig {
  return structuredClone(preset.config);
}

/** The preset whose config `config` is, unchanged; undefined once anything was edited. */
export function activePreset(config: ExperimentConfig | null): Preset | undefined {
  if (!config) return undefined;
  const json = JSON.stringify(config);
  return PRESETS.find((preset) => JSON.stringify(preset.config) === json);
}

/** The preset's experiment on each of its seeds: one run each makes a full run; the first alone, a quick one. */
export function presetSeedConfigs(preset: Preset): ExperimentConfig[] {
  return preset.seeds.map((seed) => ({ ...presetConfig(preset), seed }));
}

/**
 * The finished runs of `preset` among `finished` (any order, any
 * experiments): the latest one of each of its seeds, in the order of its
 * seeds. A run of another setting, or of a seed the preset does not
 * declare, is not the preset's.
 */
export function presetRuns(preset: Preset, finished: readonly RunResults[]): RunResults[] {
  const texts = presetSeedConfigs(preset).map(identityText);
  const latest = new Map<number, RunResults>();
  for (const run of finished) {
    const index = texts.indexOf(identityText(run.config));
    const seed = preset.seeds[index];
    if (index >= 0 && (!latest.has(seed) || latest.get(seed)!.startedAt < run.startedAt)) latest.set(seed, run);
  }
  return preset.seeds.flatMap((seed) => latest.get(seed) ?? []);
}

/** What the guidance says for `preset`: its reading of its finished runs (one per seed) when there are any, else what to look for. */
export function presetGuidance(preset: Preset, runs: readonly RunResults[]): { finished: boolean; text: string } {
  if (runs.length === 0) return { finished: false, text: preset.lookFor };
  const missing = preset.seeds.length - runs.length;
  const partial = runs.length > 1 && missing > 0 ? ` (${missing} of the preset's ${preset.seeds.length} seeds still to run.)` : '';
  return { finished: true, text: preset.readRuns(runs) + partial };
}
