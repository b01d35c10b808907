import { describe, expect, it } from 'vitest';
import { MaskSet, countOnes } from '../../masks/mask';
import { Rng } from '../../rng';
import { aliveChannels, branchPenalties, pruneEvent, pruneEvents, rhoAt, settleEvent } from './schedule';

describe('branchPenalties', () => {
  it('weights each branch channel by its FLOPs over the average channel', () => {
    // One stage on 16x16x8 inputs: 4 channels of 3x3 and 4 of 5x5, and a 1x1 branch of 8.
    const cost = (k: number) => 2 * 16 * 16 * k * k * 8;
    const penalties = branchPenalties([
      { name: 'conv_1_k3', channels: 4, flopsPerChannel: cost(3) },
      { name: 'conv_1_k5', channels: 4, flopsPerChannel: cost(5) },
      { name: 'conv_1_k1', channels: 8, flopsPerChannel: cost(1) },
    ]);
    // Average FLOPs per channel: (4*9 + 4*25 + 8*1) / 16 = 9 window entries.
    expect(penalties.get('conv_1_k3')).toBeCloseTo(1, 12);
    expect(penalties.get('conv_1_k5')).toBeCloseTo(25 / 9, 12);
    expect(penalties.get('conv_1_k1')).toBeCloseTo(1 / 9, 12);
  });
});

describe('rhoAt', () => {
  it('rises linearly from 0 over the warm-up, then stays', () => {
    expect([0, 50, 100, 400].map((step) => rhoAt(step, 2e-4, 100))).toEqual([0, 1e-4, 2e-4, 2e-4]);
    expect(rhoAt(0, 2e-4, 0)).toBe(2e-4);
  });
});

describe('aliveChannels', () => {
  it('keeps the channels above a share of the stage’s largest |gamma| over all branches', () => {
    const alive = aliveChannels(new Map([['k3', Float32Array.of(1, -0.5, 0.009)], ['k5', Float32Array.of(0.011, -0.002, 0)]]), 0.01);
    expect([...alive.get('k3')!]).toEqual([1, 1, 0]);
    expect([...alive.get('k5')!]).toEqual([1, 0, 0]);
  });

  it('refuses a threshold that would remove every channel', () => {
    expect(() => aliveChannels(new Map([['k3', Float32Array.of(1)]]), 1)).toThrow('The channel threshold must be at least 0 and below 1');
  });
});

describe('pruneEvents', () => {
  it('spaces the events evenly and steps the sparsity by the increment up to the target', () => {
    const events = pruneEvents(1200, 11, 0.1, 0.9);
    expect(events.map((e) => e.step)).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100]);
    expect(events.map((e) => e.sparsity)).toEqual([0.1, 0.2, 0.30000000000000004, 0.4, 0.5, 0.6000000000000001, 0.7000000000000001, 0.8, 0.9, 0.9, 0.9]);
  });

  it('refuses a target of 1, no events, or more events than steps', () => {
    expect(() => pruneEvents(1200, 11, 0.1, 1)).toThrow('The target sparsity must be above 0 and below 1 (1 would prune every weight), got 1');
    expect(() => pruneEvents(1200, 0, 0.1, 0.9)).toThrow('at least 1');
    expect(() => pruneEvents(5, 11, 0.1, 0.9)).toThrow('11 prune events need at least 12 training steps, the schedule has 5');
  });
});

function layers(sizes: Record<string, number>): MaskSet {
  return MaskSet.dense(Object.entries(sizes).map(([name, size]) => ({ name, type: 'conv' as const, shape: [size], size })));
}

function randomWeights(masks: MaskSet, seed: number): Map<string, Float32Array> {
  const rng = new Rng(seed);
  return new Map([...masks.layers].map(([name, m]) => [name, Float32Array.from(m.keep, () => rng.normal())]));
}

const prunedShare = (masks: MaskSet) => {
  const all = [...masks.layers.values()];
  return 1 - all.reduce((n, m) => n + countOnes(m.keep), 0) / all.reduce((n, m) => n + m.keep.length, 0);
};

describe('pruneEvent', () => {
  it('regrow: a pruned weight whose stale value beats a kept weight that shrank comes back', () => {
    const start = layers({ a: 4 });
    const weights = new Map([['a', Float32Array.of(0.1, 0.2, 0.9, 0.8)]]);
    const stale = new Map([['a', new Float32Array(4)]]);
    const first = pruneEvent(start, weights, stale, 0.5, 'regrow');
    expect([...first.masks.get('a').keep]).toEqual([0, 0, 1, 1]);
    expect(first.regrowth).toBe(0);
    // Pruned weights 0.1 and 0.2 are put aside; then the kept 0.8 shrinks to 0.05 in training.
    settleEvent(start, first.masks, weights, stale);
    const second = pruneEvent(first.masks, new Map([['a', Float32Array.of(0, 0, 0.9, 0.05)]]), stale, 0.5, 'regrow');
    expect([...second.masks.get('a').keep]).toEqual([0, 1, 1, 0]);
    expect(second.regrowth).toBe(0.5);
    // The regrown weight trains on from its stale value; the newly pruned one is put aside.
    const kernels = settleEvent(first.masks, second.masks, new Map([['a', Float32Array.of(0, 0, 0.9, 0.05)]]), stale);
    expect([...kernels.get('a')!]).toEqual([0, Math.fround(0.2), Math.fround(0.9), 0]);
    expect(stale.get('a')![3]).toBe(Math.fround(0.05));
    // Monotone from the same state: nothing comes back, the shrunk weight goes.
    const monotone = pruneEvent(first.masks, new Map([['a', Float32Array.of(0, 0, 0.9, 0.05)]]), stale, 0.75, 'monotone');
    expect([...monotone.masks.get('a').keep]).toEqual([0, 0, 1, 0]);
    expect(monotone.regrowth).toBe(0);
  });

  it.each(['regrow', 'monotone'] as const)('%s: every event leaves exactly the scheduled sparsity over all layers, ties included', (mode) => {
    let masks = layers({ conv: 450, dense: 1000, out: 57 });
    const stale = new Map([...masks.layers].map(([name, m]) => [name, new Float32Array(m.keep.length)]));
    const total = 450 + 1000 + 57;
    let regrew = 0;
    for (const [t, { sparsity }] of pruneEvents(1200, 11, 0.1, 0.9).entries()) {
      // Fresh weights each event stand for training; a block of equal magnitudes makes ties.
      const weights = randomWeights(masks, t);
      weights.get('dense')!.fill(0.5, 0, 300);
      for (const [name, w] of weights) for (let i = 0; i < w.length; i++) if (!masks.get(name).keep[i]) w[i] = 0;
      const event = pruneEvent(masks, weights, stale, sparsity, mode);
      expect(Math.round(prunedShare(event.masks) * total)).toBe(Math.round(sparsity * total));
      if (mode === 'monotone') {
        expect(event.regrowth).toBe(0);
        for (const [name, m] of event.masks.layers) expect(m.keep.every((k, i) => k <= masks.get(name).keep[i])).toBe(true);
      }
      regrew += event.regrowth;
      settleEvent(masks, event.masks, weights, stale);
      masks = event.masks;
    }
    if (mode === 'regrow') expect(regrew).toBeGreaterThan(0);
  });
});
