import { describe, expect, it } from 'vitest';
import { createModel } from '../models/registry';
import { conv, dense, flatten, maxPool } from '../models/layers';
import { Model } from '../models/model';
import {
  TicketDetector,
  channelKernelMasks,
  concatMasks,
  dampingFactors,
  forwardFlops,
  hammingDistance,
  keepStrongestPerLayer,
  maskAtRatio,
  splitByLayer,
} from './channel-masks';

const bits = (s: string) => Uint8Array.from(s, (c) => Number(c));

describe('maskAtRatio', () => {
  it('prunes the smallest magnitudes at the ratio', () => {
    expect([...maskAtRatio(Float32Array.from([0.5, 0.1, 0.9, 0.3]), 0.5)]).toEqual([1, 0, 1, 0]);
    expect([...maskAtRatio(Float32Array.from([0.5, 0.1, 0.9, 0.3]), 0)]).toEqual([1, 1, 1, 1]);
    expect([...maskAtRatio(Float32Array.from([0.5, 0.1, 0.9, 0.3]), 0.25)]).toEqual([1, 0, 1, 1]);
  });
});

describe('keepStrongestPerLayer', () => {
  it('gives a layer the global ranking emptied back its strongest channels, and leaves the others alone', () => {
    // Two layers of 3 and 4 channels; pruning 3 of 7 globally empties the first.
    const magnitudes = Float32Array.from([0.2, 0.05, 0.3, 0.9, 0.8, 0.7, 0.4]);
    const global = maskAtRatio(magnitudes, 3 / 7);
    expect([...global]).toEqual([0, 0, 0, 1, 1, 1, 1]);
    const layers = [{ channels: 3 }, { channels: 4 }];
    expect([...keepStrongestPerLayer(global, magnitudes, layers, 1)]).toEqual([0, 0, 1, 1, 1, 1, 1]);
    expect([...keepStrongestPerLayer(global, magnitudes, layers, 2)]).toEqual([1, 0, 1, 1, 1, 1, 1]);
    // Ties go to the lower index; a layer that keeps enough is not touched; the input is not changed.
    expect([...keepStrongestPerLayer(Uint8Array.from([0, 0, 0, 1, 0, 0, 0]), new Float32Array(7), layers, 2)]).toEqual([1, 1, 0, 1, 1, 0, 0]);
    expect([...global]).toEqual([0, 0, 0, 1, 1, 1, 1]);
    expect(() => keepStrongestPerLayer(global, magnitudes, [{ channels: 3 }], 1)).toThrow(/7 positions, layers have 3 channels/);
  });
});

describe('hammingDistance', () => {
  it('is the fraction of positions that differ', () => {
    expect(hammingDistance(bits('1100'), bits('1100'))).toBe(0);
    expect(hammingDistance(bits('1100'), bits('1000'))).toBe(0.25);
    expect(hammingDistance(bits('1100'), bits('0011'))).toBe(1);
    expect(hammingDistance(bits('1010101010'), bits('1010101001'))).toBeCloseTo(0.2);
    expect(() => hammingDistance(bits('1'), bits('11'))).toThrow(/length/);
  });
});

describe('TicketDetector (FIFO of 5, epsilon 0.1)', () => {
  const ten = (flips: number) => bits('1111100000'.split('').map((c, i) => (i < flips ? String(1 - Number(c)) : c)).join(''));

  it('never detects before the queue holds 5 masks', () => {
    const detector = new TicketDetector(5, 0.1);
    for (let i = 0; i < 4; i++) expect(detector.push(ten(0))).toEqual({ distances: [], max: null, mean: null, found: false });
    const state = detector.push(ten(0));
    expect(state.distances).toEqual([0, 0, 0, 0]);
    expect(state.found).toBe(true);
  });

  it('detects exactly when every distance is at most epsilon', () => {
    const atEpsilon = new TicketDetector(5, 0.1);
    // Newest differs from each older mask in 1 of 10 positions: distance 0.1 = epsilon.
    for (const m of [ten(1), ten(1), ten(1), ten(1)]) atEpsilon.push(m);
    const state = atEpsilon.push(ten(0));
    expect(state.max).toBeCloseTo(0.1);
    expect(state.found).toBe(true);

    const justAbove = new TicketDetector(5, 0.1);
    // One older mask at 2 of 10 (0.2), the rest identical: the max rules.
    for (const m of [ten(2), ten(0), ten(0), ten(0)]) justAbove.push(m);
    const above = justAbove.push(ten(0));
    expect(above.distances).toEqual([0.2, 0, 0, 0]);
    expect(above.mean).toBeCloseTo(0.05);
    expect(above.found).toBe(false);
    // The old mask leaves the queue on the next push: now it is a ticket.
    expect(justAbove.push(ten(0)).found).toBe(true);
  });

  it('compares the newest mask with the older ones, not consecutive pairs', () => {
    const detector = new TicketDetector(3, 0.1);
    detector.push(bits('1100000000'));
    detector.push(bits('1000000000'));
    expect(detector.push(bits('1100000000')).distances).toEqual([0, 0.1]);
    expect([...detector.newest!]).toEqual([...bits('1100000000')]);
  });
});

describe('WORM damping factors', () => {
  it('are 1 on kept channels and chi on pruned ones', () => {
    expect([...dampingFactors(bits('1010'), 0.25)]).toEqual([1, 0.25, 1, 0.25]);
  });
});

describe('splitByLayer / concatMasks', () => {
  it('cut a global mask into layers and back', () => {
    const split = splitByLayer(bits('11001'), [
      { name: 'a', channels: 2 },
      { name: 'b', channels: 3 },
    ]);
    expect([...split.get('a')!]).toEqual([1, 1]);
    expect([...split.get('b')!]).toEqual([0, 0, 1]);
    expect(() => splitByLayer(bits('11'), [{ name: 'a', channels: 3 }])).toThrow();
  });
});

/** 4x4x1 input -> conv_1 (2 filters) -> pool -> conv_2 (3 filters) -> flatten -> output (2 classes). */
function tinyNet(): Model {
  return new Model(
    'tiny',
    [conv('conv_1', 2, { batchNorm: true }), maxPool(), conv('conv_2', 3, { batchNorm: true }), flatten(), dense('dense_1', 2, { output: true })],
    [4, 4, 1],
    1,
  );
}

describe('forwardFlops', () => {
  it('counts 2 FLOPs per multiply-add from the layer shapes (by hand on a tiny net)', () => {
    const model = tinyNet();
    // conv_1: 4*4 pixels * 9 * 1 in * 2 out = 288 MACs; conv_2 on 2x2: 4 * 9 * 2 * 3 = 216; output: (2*2*3) * 2 = 24.
    expect(forwardFlops(model)).toBe(2 * (288 + 216 + 24));
    // conv_1 keeps 1 channel, conv_2 keeps 2: 16*9*1*1 = 144; 4*9*1*2 = 72; (4*2)*2 = 16.
    expect(forwardFlops(model, new Map([['conv_1', 1], ['conv_2', 2]]))).toBe(2 * (144 + 72 + 16));
    model.dispose();
  });

  it('matches the real Conv-4-BN layer sizes', () => {
    const model = createModel('conv-4-bn', 1, 10, 1);
    const macs = 32 * 32 * 9 * (3 * 64 + 64 * 64) + 16 * 16 * 9 * (64 * 128 + 128 * 128) + 8 * 8 * 128 * 256 + 256 * 256 + 256 * 10;
    expect(forwardFlops(model)).toBe(2 * macs);
    model.dispose();
  });
});

describe('channelKernelMasks', () => {
  it("zeroes a pruned channel's output slice and the next layer's inputs from it", () => {
    const model = tinyNet();
    const masks = channelKernelMasks(model, new Map([['conv_1', bits('10')], ['conv_2', bits('011')]]));
    // conv_1 [3,3,1,2]: output channel 1 gone.
    expect([...masks.get('conv_1').keep]).toEqual(Array.from({ length: 9 }, () => [1, 0]).flat());
    // conv_2 [3,3,2,3]: input channel 1 and output channel 0 gone.
    const conv2 = masks.get('conv_2').keep;
    for (let i = 0; i < conv2.length; i++) {
      const out = i % 3;
      const input = Math.floor(i / 3) % 2;
      expect(conv2[i]).toBe(out !== 0 && input === 0 ? 1 : 0);
    }
    // output [12,2]: rows from feature f = pixel * 3 + channel, channel 0 gone.
    const dense = masks.get('dense_1').keep;
    for (let row = 0; row < 12; row++) expect([dense[2 * row], dense[2 * row + 1]]).toEqual(row % 3 === 0 ? [0, 0] : [1, 1]);
    expect(concatMasks(masks).length).toBe(18 + 54 + 24);
    model.dispose();
  });
});
