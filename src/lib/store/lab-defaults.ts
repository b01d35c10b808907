/**
 * What a first visit runs: a lottery-ticket experiment small enough to show
 * the whole story (train, prune, rewind, retrain) in about a minute on the
 * wasm backend of a 2-core laptop, on the built-in synthetic data.
 */
import { parseConfig, type ExperimentConfig } from '../engine/config';

export const LAB_DEFAULTS: ExperimentConfig = parseConfig({
  name: 'first-ticket',
  method: 'imp',
  model: { arch: 'conv-2', width: 0.25 },
  data: { source: 'synthetic', syntheticTrain: 3000, syntheticTest: 500, validation: 300 },
  train: { optimizer: 'adam', lr: 2e-3, batchSize: 60, iterations: 150, evalEvery: 25 },
  prune: { strategy: 'layerwise', rounds: 1 },
  controls: ['randomReinit'],
});
