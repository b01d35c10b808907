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
import type { RunResults } from '../engine/results';
import { COLT_VS_IMP } from './colt-vs-imp';
import { EARLY_BIRD } from './early-bird';
import { HIDDEN_NETWORK } from './hidden-network';
import type { Preset } from './preset';
import { PRUNE_LENET } from './prune-lenet';
import { TICKET_VS_RANDOM } from './ticket-vs-random';
import { WHICH_FILTERS } from './which-filters';

export type { Preset } from './preset';

export const PRESETS: readonly Preset[] = [TICKET_VS_RANDOM, EARLY_BIRD, COLT_VS_IMP, PRUNE_LENET, WHICH_FILTERS, HIDDEN_NETWORK];

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

/** What the guidance says for `preset`: its reading of `results` when they are a finished run of exactly its experiment, else what to look for. */
export function presetGuidance(preset: Preset, results: RunResults | null): { finished: boolean; text: string } {
  if (results && activePreset(results.config) === preset) return { finished: true, text: preset.readRun(results) };
  return { finished: false, text: preset.lookFor };
}
