import { describe, expect, it } from 'vitest';
import { countOnes } from '../../masks/mask';
import { Rng } from '../../rng';
import { flipRate, swapStep } from './swap';

const bits = (...b: number[]) => Uint8Array.from(b);
const floats = (...f: number[]) => Float32Array.from(f);

describe('jackpot swap rule', () => {
  it('swaps the pruned weights that now outrank kept ones, one for one', () => {
    const keep = bits(1, 1, 0, 0, 1, 0);
    // 3 pruned: tau = 3rd smallest = 0.3; index 3 (pruned, 0.9) wants in, index 1 (kept, 0.1) wants out.
    const result = swapStep(keep, floats(0.8, 0.1, 0.2, 0.9, 0.7, 0.3), 3, 1);
    expect(result).toEqual({ swapped: 1, wantIn: 1, wantOut: 1 });
    expect([...keep]).toEqual([1, 0, 0, 1, 1, 0]);
  });

  it('keeps every layer count exactly constant over many random steps', () => {
    const rng = new Rng(3);
    const keep = new Uint8Array(200);
    for (let i = 0; i < 60; i++) keep[i] = 1;
    const scores = new Float32Array(200);
    let swaps = 0;
    for (let step = 0; step < 50; step++) {
      for (let i = 0; i < scores.length; i++) scores[i] = Math.round(rng.next() * 20) / 20; // coarse grid: many ties
      swaps += swapStep(keep, scores, 140, 1).swapped;
      expect(countOnes(keep)).toBe(60);
    }
    expect(swaps).toBeGreaterThan(0);
  });

  it('makes no change when ties at tau make the counts differ (the 0.99 plateau after initialisation)', () => {
    const keep = bits(1, 1, 0, 0, 0);
    // 3 pruned: tau = 0.99. Nothing pruned scores above 0.99 and nothing kept at or below it.
    expect(swapStep(keep, floats(1, 1, 0.99, 0.99, 0.99), 3, 1)).toEqual({ swapped: 0, wantIn: 0, wantOut: 0 });
    // A kept weight sinks onto the plateau: it wants out, but no pruned weight outranks the plateau.
    const result = swapStep(keep, floats(1, 0.99, 0.99, 0.99, 0.99), 3, 1);
    expect(result).toEqual({ swapped: 0, wantIn: 0, wantOut: 1 });
    expect([...keep]).toEqual([1, 1, 0, 0, 0]);
    // One pruned weight rises above the plateau while both kept ones sit on it: 1 in, 2 out, no change.
    expect(swapStep(keep, floats(0.99, 0.99, 1, 0.99, 0.99), 3, 1)).toEqual({ swapped: 0, wantIn: 1, wantOut: 2 });
    expect([...keep]).toEqual([1, 1, 0, 0, 0]);
  });

  it('applies the flip cap to the strongest candidates, breaking ties by position', () => {
    const keep = bits(1, 1, 1, 1, 0, 0, 0, 0);
    // 4 pruned: tau = 0.5; pruned 4..7 score 0.9, 0.8, 0.9, 0.8 (want in), kept 0..3 score 0.1, 0.2, 0.1, 0.2 (want out).
    const scores = floats(0.1, 0.2, 0.1, 0.2, 0.9, 0.8, 0.9, 0.8);
    const result = swapStep(keep, scores, 4, 0.5);
    expect(result.swapped).toBe(2);
    // In: the two 0.9s (4 and 6). Out: the two 0.1s (0 and 2).
    expect([...keep]).toEqual([0, 1, 0, 1, 1, 0, 1, 0]);
    // Ties among the candidates at the cap: the lower index first.
    const tied = bits(1, 1, 1, 0, 0, 0);
    swapStep(tied, floats(0.1, 0.1, 0.1, 0.9, 0.9, 0.9), 3, 0.34); // ceil(0.34 * 3) = 2
    expect([...tied]).toEqual([0, 0, 1, 1, 1, 0]);
  });

  it('swaps a single candidate even when the cap rounds to none', () => {
    const keep = bits(1, 0);
    expect(swapStep(keep, floats(0.1, 0.9), 1, 0).swapped).toBe(1);
    expect([...keep]).toEqual([0, 1]);
  });

  it('leaves a layer without a budget (the dense output layer) alone', () => {
    const keep = bits(1, 1, 1);
    expect(swapStep(keep, floats(0.3, 0.2, 0.1), 0, 1).swapped).toBe(0);
    expect([...keep]).toEqual([1, 1, 1]);
  });

  it('has a cap of 1 as the code, and a cosine from 1 to 0 as our reading', () => {
    expect(flipRate('constant', 7, 10)).toBe(1);
    expect(flipRate('cosine', 0, 10)).toBe(1);
    expect(flipRate('cosine', 5, 10)).toBeCloseTo(0.5);
    expect(flipRate('cosine', 10, 10)).toBeCloseTo(0);
  });
});
