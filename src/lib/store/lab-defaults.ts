/**
 * What a first visit runs: one lottery-ticket round (train, prune, rewind,
 * retrain) of a quarter-width Conv-2 on the built-in synthetic data. On the
 * wasm backend of this 2-core machine it took 40 s (about 520 images/s; over
 * a minute while other jobs loaded the cores), and test accuracy reached 27%
 * dense and 30% at 80% of weights (chance: 10%). The learning rate is 10x the
 * paper's so that 150 iterations show learning.
 */
import { parseConfig, type ExperimentConfig } from '../engine/config';

export const LAB_DEFAULTS: ExperimentConfig = parseConfig({
  name: 'first-ticket',
  method: 'imp',
  model: { arch: 'conv-2', width: 0.25 },
  data: { source: 'synthetic', syntheticTrain: 3000, syntheticTest: 500, validation: 300 },
  train: { optimizer: 'adam', lr: 2e-3, batchSize: 60, iterations: 150, evalEvery: 25 },
  prune: { strategy: 'layerwise', rounds: 1 },
});
