/**
 * The smallest EarlyBird-family experiment the tests run end to end: a
 * Conv-4-BN at width 0.125 on 60 synthetic images for 5 epochs, with a queue
 * of 2 so a ticket can come from epoch 2. Adam, because tfjs's momentum
 * optimiser keeps one scalar after dispose() (a trainer-wide leak, not the
 * method's), and the tests count tensors.
 */
export const TINY_EARLYBIRD_CONFIG = {
  seed: 3,
  data: { syntheticTrain: 60, syntheticTest: 40, validation: 20 },
  model: { arch: 'conv-4-bn', width: 0.125 },
  train: { optimizer: 'adam', lr: 0.01, batchSize: 20, epochs: 5, evalEvery: 100, lrDecayEpochs: [3] },
  earlybird: { queueLength: 2, epsilon: 0.3 },
} as const;
