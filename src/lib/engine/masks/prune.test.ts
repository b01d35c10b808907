import { describe, expect, it } from 'vitest';
import { MaskSet, countOnes } from './mask';
import { kthSmallest, oneShotLayerRates, pruneGlobal, pruneLayerwise, randomMaskLike } from './prune';
import { Rng } from '../rng';
import type { PrunableLayer } from '../models/model';

const layer = (name: string, size: number, type: PrunableLayer['type'] = 'dense'): PrunableLayer => ({ name, type, shape: [size], size });

function randomWeights(size: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: size }, () => rng.normal());
}

describe('kthSmallest', () => {
  it('matches a sort on random, sorted, reversed and tied inputs', () => {
    const inputs = [
      randomWeights(1001, 3),
      Float32Array.from({ length: 500 }, (_, i) => i),
      Float32Array.from({ length: 500 }, (_, i) => 500 - i),
      Float32Array.from({ length: 300 }, (_, i) => i % 7),
    ];
    for (const values of inputs) {
      const sorted = Array.from(values).sort((a, b) => a - b);
      for (const k of [0, 1, Math.floor(values.length / 3), values.length - 1]) {
        expect(kthSmallest(values.slice(), k)).toBe(sorted[k]);
      }
    }
  });
});

describe('layer-wise pruning', () => {
  it('removes the rate of each layer\'s surviving weights, smallest magnitudes first', () => {
    const layers = [layer('a', 1000), layer('b', 200, 'output')];
    const weights = new Map([
      ['a', randomWeights(1000, 1)],
      ['b', randomWeights(200, 2)],
    ]);
    const rates = new Map([
      ['a', 0.2],
      ['b', 0.1],
    ]);
    const once = pruneLayerwise(MaskSet.dense(layers), weights, rates);
    expect(countOnes(once.get('a').keep)).toBe(800);
    expect(countOnes(once.get('b').keep)).toBe(180);
    // Every pruned weight is no larger than every kept one.
    const a = weights.get('a')!;
    const kept = [...a].filter((_, i) => once.get('a').keep[i]).map(Math.abs);
    const pruned = [...a].filter((_, i) => !once.get('a').keep[i]).map(Math.abs);
    expect(Math.max(...pruned)).toBeLessThanOrEqual(Math.min(...kept));
    // Second round ranks only survivors: pruned weights never come back.
    const twice = pruneLayerwise(once, weights, rates);
    expect(countOnes(twice.get('a').keep)).toBe(640);
    for (let i = 0; i < 1000; i++) if (!once.get('a').keep[i]) expect(twice.get('a').keep[i]).toBe(0);
  });

  it('prunes exactly the count when magnitudes tie', () => {
    const layers = [layer('a', 100)];
    const weights = new Map([['a', new Float32Array(100).fill(0.5)]]);
    const out = pruneLayerwise(MaskSet.dense(layers), weights, new Map([['a', 0.2]]));
    expect(countOnes(out.get('a').keep)).toBe(80);
  });
});

/**
 * The rule spelled out by a sort: rank every survivor of `names` (in that
 * order) by magnitude, ties by position, and prune the first
 * round(fraction * survivors).
 */
function sortedReference(masks: MaskSet, weights: Map<string, Float32Array>, fraction: number, names: string[]): MaskSet {
  const out = masks.clone();
  const survivors: { name: string; index: number; magnitude: number }[] = [];
  for (const name of names) {
    const keep = out.get(name).keep;
    const values = weights.get(name)!;
    for (let i = 0; i < keep.length; i++) if (keep[i]) survivors.push({ name, index: i, magnitude: Math.abs(values[i]) });
  }
  survivors.sort((a, b) => a.magnitude - b.magnitude); // stable: ties stay in position order
  for (const s of survivors.slice(0, Math.round(fraction * survivors.length))) out.get(s.name).keep[s.index] = 0;
  return out;
}

/** The first position where two masks differ, or -1 (element-wise toEqual is slow on 30k-byte masks). */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  return a.findIndex((value, i) => value !== b[i]);
}

describe('pruning against a sort-based reference', () => {
  const sizes = { a: 30_000, b: 12_000, c: 1_500 }; // 43,500 weights: large enough to be sampled, c alone is not
  const layers = Object.entries(sizes).map(([name, size]) => layer(name, size));
  const names = layers.map((l) => l.name);
  const rng = new Rng(5);
  /** Already pruned: 30% of positions off, and those weights zeroed as training leaves them. */
  function prunedBefore(values: Map<string, Float32Array>): MaskSet {
    const masks = MaskSet.dense(layers);
    for (const m of masks.layers.values()) {
      for (let i = 0; i < m.keep.length; i++) {
        if (rng.next() < 0.3) {
          m.keep[i] = 0;
          values.get(m.name)![i] = 0;
        }
      }
    }
    return masks;
  }
  const weightSets: Record<string, () => Map<string, Float32Array>> = {
    normal: () => new Map(names.map((name, i) => [name, randomWeights(layers[i].size, 10 + i)])),
    // ~100 distinct magnitudes, both signs: hundreds of ties at any threshold.
    quantised: () => new Map(names.map((name, i) => [name, randomWeights(layers[i].size, 20 + i).map((w) => Math.round(w * 25) / 25)])),
    allEqual: () => new Map(names.map((name, i) => [name, new Float32Array(layers[i].size).fill(-0.25)])),
    // Half the weights tie at 1.5 above a uniform half, so a 75% threshold
    // lands among more ties than a sampled bracket makes room for, after the
    // pass has already pruned some weights under it: the masks must start over.
    tiedBlock: () => new Map(names.map((name, i) => [name, Float32Array.from({ length: layers[i].size }, () => (rng.next() < 0.5 ? 1.5 : rng.next()))])),
  };
  const fractions = [0, 0.0001, 0.2, 0.75, 1];

  for (const [label, make] of Object.entries(weightSets)) {
    it(`gives the same masks on ${label} weights, from dense and from already-pruned masks`, () => {
      const denseValues = make();
      const prunedValues = new Map([...denseValues].map(([name, w]) => [name, w.slice()]));
      const starts = { dense: [MaskSet.dense(layers), denseValues], pruned: [prunedBefore(prunedValues), prunedValues] } as const;
      for (const [start, [masks, values]] of Object.entries(starts)) {
        for (const fraction of fractions) {
          const context = `${label}, ${start}, fraction ${fraction}`;
          const global = pruneGlobal(masks, values, fraction, ['c']);
          const expected = sortedReference(masks, values, fraction, ['a', 'b']);
          for (const name of names) expect(firstDifference(global.get(name).keep, expected.get(name).keep), `${context}, global, layer ${name}`).toBe(-1);
          const rates = new Map(names.map((name) => [name, fraction]));
          const layerwise = pruneLayerwise(masks, values, rates);
          for (const name of names) {
            const reference = sortedReference(masks, values, fraction, [name]).get(name).keep;
            expect(firstDifference(layerwise.get(name).keep, reference), `${context}, layer-wise, layer ${name}`).toBe(-1);
          }
        }
      }
    });
  }
});

describe('global pruning', () => {
  it('uses one threshold over unignored layers and leaves ignored ones dense', () => {
    const layers = [layer('small', 100), layer('large', 100), layer('out', 50, 'output')];
    const weights = new Map([
      ['small', Float32Array.from({ length: 100 }, (_, i) => 0.001 * (i + 1))],
      ['large', Float32Array.from({ length: 100 }, (_, i) => 10 + i)],
      ['out', new Float32Array(50).fill(0.0001)],
    ]);
    const out = pruneGlobal(MaskSet.dense(layers), weights, 0.2, ['out']);
    expect(countOnes(out.get('small').keep)).toBe(60); // all 40 pruned come from the small-magnitude layer
    expect(countOnes(out.get('large').keep)).toBe(100);
    expect(countOnes(out.get('out').keep)).toBe(50);
  });
});

describe('random pruning control', () => {
  it('keeps each layer\'s density with a different, seeded mask', () => {
    const layers = [layer('a', 1000), layer('b', 300)];
    const weights = new Map([
      ['a', randomWeights(1000, 1)],
      ['b', randomWeights(300, 2)],
    ]);
    const ticket = pruneLayerwise(MaskSet.dense(layers), weights, new Map([['a', 0.5], ['b', 0.3]]));
    const random = randomMaskLike(ticket, 7);
    expect(random.counts()).toEqual(ticket.counts());
    expect(random.get('a').keep).not.toEqual(ticket.get('a').keep);
    expect(randomMaskLike(ticket, 7).get('a').keep).toEqual(random.get('a').keep);
  });
});

describe('intersection', () => {
  it('is exactly the AND of the masks', () => {
    const layers = [layer('a', 64)];
    const m1 = randomMaskLike(pruneLayerwise(MaskSet.dense(layers), new Map([['a', randomWeights(64, 1)]]), new Map([['a', 0.5]])), 1);
    const m2 = randomMaskLike(m1, 2);
    const both = MaskSet.intersect([m1, m2]);
    for (let i = 0; i < 64; i++) expect(both.get('a').keep[i]).toBe(m1.get('a').keep[i] & m2.get('a').keep[i]);
  });
});

describe('one-shot rates', () => {
  it('hit the target sparsity while keeping layer-wise proportions', () => {
    const layers = [layer('conv', 1000, 'conv'), layer('fc', 5000), layer('out', 100, 'output')];
    const base = new Map([
      ['conv', 0.1],
      ['fc', 0.2],
      ['out', 0.1],
    ]);
    const rates = oneShotLayerRates(layers, base, 0.8);
    const kept = layers.reduce((s, l) => s + l.size * (1 - rates.get(l.name)!), 0);
    expect(kept / 6100).toBeCloseTo(0.2, 4);
    expect(rates.get('fc')!).toBeGreaterThan(rates.get('conv')!);
  });
});
