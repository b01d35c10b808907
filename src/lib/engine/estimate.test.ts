import { describe, expect, it } from 'vitest';
import { parseConfig } from './config';
import { leastRunSeconds, plannedTrainImages } from './estimate';

describe('run duration estimate', () => {
  it('counts the training images the config reads, less the validation hold-out', () => {
    expect(plannedTrainImages(parseConfig({ data: { syntheticTrain: 3000, validation: 500 } }).data)).toBe(2500);
    expect(plannedTrainImages(parseConfig({ data: { source: 'cifar10', dir: 'd', train: ['data_batch_1.bin'], validation: 1000 } }).data)).toBe(9000);
    expect(plannedTrainImages(parseConfig({ data: { source: 'cifar10', dir: 'd', trainLimit: 5000 } }).data)).toBe(4500);
    expect(plannedTrainImages(parseConfig({ data: { source: 'cifar100', dir: 'd', validation: 5000 } }).data)).toBe(45_000);
  });

  it('is iterations x batch x planned trainings over the speed', () => {
    const config = parseConfig({ method: 'imp', train: { iterations: 1e9, batchSize: 60 }, prune: { rounds: 4 } });
    expect(leastRunSeconds(config, 120, 5)).toBe((1e9 * 60 * 5) / 120);
    // Epochs count the training split: 2 epochs of 2,500 images at batch 50 are 100 iterations.
    const epochs = parseConfig({ data: { syntheticTrain: 3000, validation: 500 }, train: { epochs: 2, batchSize: 50 } });
    expect(leastRunSeconds(epochs, 100, 1)).toBe((100 * 50) / 100);
  });
});
