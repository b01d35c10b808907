import { describe, expect, it } from 'vitest';
import { countOnes } from '../../masks/mask';
import type { PrunableLayer } from '../../models/model';
import { keptOverlap, magnitudeMask, prunedCounts } from './budgets';

const layers: PrunableLayer[] = [
  { name: 'conv_1', type: 'conv', shape: [4], size: 4 },
  { name: 'dense_1', type: 'dense', shape: [6], size: 6 },
  { name: 'dense_2', type: 'output', shape: [2], size: 2 },
];

const weights = new Map([
  ['conv_1', Float32Array.from([0.9, -0.05, 0.5, 0.01])],
  ['dense_1', Float32Array.from([0.02, -0.8, 0.03, 0.04, 0.7, -0.06])],
  ['dense_2', Float32Array.from([0.001, 0.002])],
]);

describe('jackpot budgets', () => {
  it('prunes by one global magnitude threshold over conv and hidden dense layers, output dense', () => {
    // 10 weights under the threshold, sparsity 0.6: the 6 smallest |W| go (0.01, 0.02, 0.03, 0.04, 0.05, 0.06).
    const mask = magnitudeMask(layers, weights, 0.6);
    expect([...mask.get('conv_1').keep]).toEqual([1, 0, 1, 0]);
    expect([...mask.get('dense_1').keep]).toEqual([0, 1, 0, 0, 1, 0]);
    expect([...mask.get('dense_2').keep]).toEqual([1, 1]);
    expect(Object.fromEntries(prunedCounts(mask))).toEqual({ conv_1: 2, dense_1: 4, dense_2: 0 });
  });

  it('refuses a sparsity that would empty a layer, naming it', () => {
    expect(() => magnitudeMask(layers, weights, 0.9)).toThrow(/jackpot.sparsity 0.9 would prune every weight of layer dense_1/);
  });

  it('measures the overlap of kept weights with the magnitude mask over the pruned layers', () => {
    const reference = magnitudeMask(layers, weights, 0.6);
    const moved = reference.clone();
    moved.get('conv_1').keep.set([0, 1, 1, 0]); // one of the four kept weights moved
    expect(countOnes(moved.get('conv_1').keep)).toBe(2);
    expect(keptOverlap(moved, reference)).toBeCloseTo(3 / 4);
    expect(keptOverlap(reference, reference)).toBe(1);
  });
});
