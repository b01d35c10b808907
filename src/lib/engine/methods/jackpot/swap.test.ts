import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { countOnes } from '../../masks/mask';
import { kthSmallest } from '../../masks/prune';
import { Rng } from '../../rng';
import { initBackend } from '../../runtime/backend';
import { flipRate, swapStep } from './swap';

const bits = (...b: number[]) => Uint8Array.from(b);
const floats = (...f: number[]) => Float32Array.from(f);

beforeAll(async () => {
  await initBackend('wasm');
});

/** One device swap step on host arrays: `keep` is updated in place; returns how many weights swapped. */
function swap(keep: Uint8Array, scores: Float32Array, pruned: number, rate: number): number {
  const before = tf.memory().numTensors;
  const [keepIn, scoresIn] = [tf.tensor(Float32Array.from(keep)), tf.tensor(scores)];
  const result = swapStep(keepIn, scoresIn, pruned, rate);
  keep.set(result.keep.dataSync());
  const [swapped] = result.swapped.dataSync();
  tf.dispose([keepIn, scoresIn, result.keep, result.swapped]);
  expect(tf.memory().numTensors).toBe(before);
  return swapped;
}

/**
 * The swap rule as the lab ran it on the host before it moved to the device
 * (it read every score back each step), kept as the oracle the device step
 * must match bit for bit.
 */
function hostSwap(keep: Uint8Array, scores: Float32Array, pruned: number, rate: number): { swapped: number; candidates: number } {
  if (pruned <= 0 || pruned >= keep.length) return { swapped: 0, candidates: 0 };
  const tau = kthSmallest(scores.slice(), pruned - 1);
  const wantIn: number[] = [];
  const wantOut: number[] = [];
  for (let i = 0; i < keep.length; i++) {
    if (!keep[i] && scores[i] > tau) wantIn.push(i);
    else if (keep[i] && scores[i] <= tau) wantOut.push(i);
  }
  if (wantIn.length === 0 || wantIn.length !== wantOut.length) return { swapped: 0, candidates: 0 };
  const m = wantIn.length === 1 ? 1 : Math.min(wantIn.length, Math.ceil(rate * wantIn.length));
  wantIn.sort((a, b) => scores[b] - scores[a]);
  wantOut.sort((a, b) => scores[a] - scores[b]);
  for (let j = 0; j < m; j++) {
    keep[wantIn[j]] = 1;
    keep[wantOut[j]] = 0;
  }
  return { swapped: m, candidates: wantIn.length };
}

describe('jackpot swap rule', () => {
  it('swaps the pruned weights that now outrank kept ones, one for one', () => {
    const keep = bits(1, 1, 0, 0, 1, 0);
    // 3 pruned: tau = 3rd smallest = 0.3; index 3 (pruned, 0.9) wants in, index 1 (kept, 0.1) wants out.
    expect(swap(keep, floats(0.8, 0.1, 0.2, 0.9, 0.7, 0.3), 3, 1)).toBe(1);
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
      swaps += swap(keep, scores, 140, 1);
      expect(countOnes(keep)).toBe(60);
    }
    expect(swaps).toBeGreaterThan(0);
  });

  it('makes no change when ties at tau make the counts differ (the 0.99 plateau after initialisation)', () => {
    const keep = bits(1, 1, 0, 0, 0);
    // 3 pruned: tau = 0.99. Nothing pruned scores above 0.99 and nothing kept at or below it.
    expect(swap(keep, floats(1, 1, 0.99, 0.99, 0.99), 3, 1)).toBe(0);
    // A kept weight sinks onto the plateau: it wants out, but no pruned weight outranks the plateau.
    expect(swap(keep, floats(1, 0.99, 0.99, 0.99, 0.99), 3, 1)).toBe(0);
    expect([...keep]).toEqual([1, 1, 0, 0, 0]);
    // One pruned weight rises above the plateau while both kept ones sit on it: 1 in, 2 out, no change.
    expect(swap(keep, floats(0.99, 0.99, 1, 0.99, 0.99), 3, 1)).toBe(0);
    expect([...keep]).toEqual([1, 1, 0, 0, 0]);
  });

  it('applies the flip cap to the strongest candidates, breaking ties by position', () => {
    const keep = bits(1, 1, 1, 1, 0, 0, 0, 0);
    // 4 pruned: tau = 0.5; pruned 4..7 score 0.9, 0.8, 0.9, 0.8 (want in), kept 0..3 score 0.1, 0.2, 0.1, 0.2 (want out).
    expect(swap(keep, floats(0.1, 0.2, 0.1, 0.2, 0.9, 0.8, 0.9, 0.8), 4, 0.5)).toBe(2);
    // In: the two 0.9s (4 and 6). Out: the two 0.1s (0 and 2).
    expect([...keep]).toEqual([0, 1, 0, 1, 1, 0, 1, 0]);
    // Ties among the candidates at the cap: the lower index first.
    const tied = bits(1, 1, 1, 0, 0, 0);
    expect(swap(tied, floats(0.1, 0.1, 0.1, 0.9, 0.9, 0.9), 3, 0.34)).toBe(2); // ceil(0.34 * 3) = 2
    expect([...tied]).toEqual([0, 0, 1, 1, 1, 0]);
  });

  it('swaps a single candidate even when the cap rounds to none', () => {
    const keep = bits(1, 0);
    expect(swap(keep, floats(0.1, 0.9), 1, 0)).toBe(1);
    expect([...keep]).toEqual([0, 1]);
  });

  it('leaves a layer without a budget (the dense output layer) alone', () => {
    const keep = bits(1, 1, 1);
    expect(swap(keep, floats(0.3, 0.2, 0.1), 0, 1)).toBe(0);
    expect([...keep]).toEqual([1, 1, 1]);
  });

  it('gives the same masks and counts as the host rule, step after step, at any cap and with many ties', () => {
    const rng = new Rng(11);
    let swapSteps = 0;
    let cappedSteps = 0;
    for (const [size, pruned] of [
      [300, 270],
      [257, 100],
      [64, 1],
      [64, 63],
    ]) {
      for (const rate of [1, 0.9, 0.5, 0.34, 0.1, 0]) {
        const onDevice = new Uint8Array(size);
        for (let i = 0; i < size - pruned; i++) onDevice[(i * 7) % size] = 1;
        const onHost = onDevice.slice();
        const scores = new Float32Array(size);
        for (let step = 0; step < 12; step++) {
          // Scores on a grid of 8, 64 or 65,536 steps (ties at tau, ties among candidates, hardly a tie),
          // with -0 beside 0 and thirds that float32 rounds.
          const levels = [8, 64, 65_536][step % 3];
          for (let i = 0; i < size; i++) scores[i] = (Math.round(rng.next() * levels) - levels / 2) / (3 * levels) || (i % 2 ? -0 : 0);
          const swapped = swap(onDevice, scores, pruned, rate);
          const host = hostSwap(onHost, scores, pruned, rate);
          expect(swapped, `size ${size}, pruned ${pruned}, rate ${rate}, step ${step}`).toBe(host.swapped);
          expect(onDevice).toEqual(onHost);
          if (host.swapped > 0) swapSteps++;
          if (host.swapped > 0 && host.swapped < host.candidates) cappedSteps++;
        }
      }
    }
    // Both paths were taken: swaps of every candidate, and swaps capped below the candidates.
    expect(swapSteps).toBeGreaterThan(50);
    expect(cappedSteps).toBeGreaterThan(20);
  });

  it('has a cap of 1 as the code, and a cosine from 1 to 0 as our reading', () => {
    expect(flipRate('constant', 7, 10)).toBe(1);
    expect(flipRate('cosine', 0, 10)).toBe(1);
    expect(flipRate('cosine', 5, 10)).toBeCloseTo(0.5);
    expect(flipRate('cosine', 10, 10)).toBeCloseTo(0);
  });
});
