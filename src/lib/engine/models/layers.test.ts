import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { channelKernelMasks, forwardFlops } from '../masks/channel-masks';
import { conv, dense, flatten, maxPool, walkLayers, type Layer } from './layers';
import { Model } from './model';
import { archLayers } from './registry';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/**
 * A layer type the lab does not have, written only against the interface: a
 * 1x1 convolution without bias or activation. Nothing else changes for the
 * model to build, run, count and channel-prune it.
 */
function pointwise(name: string, filters: number): Layer {
  return {
    name,
    outputShape: ([h, w]) => [h, w, filters],
    build([, , channels], vars) {
      const kernel = vars.kernel(name, 'conv', [1, 1, channels, filters], channels, filters) as tf.Tensor4D;
      return (x) => tf.conv2d(x as tf.Tensor4D, kernel, 1, 'valid');
    },
    flops: ([h, w, inputs], [, , outputs]) => 2 * h * w * inputs * outputs,
    cutChannels: (_input, inputKeep) => ({ variables: new Map([[`${name}/kernel`, [null, null, inputKeep, null]]]), output: null }),
    narrowed() {
      return this;
    },
  };
}

describe('a new layer type is one object', () => {
  it('builds, runs, counts FLOPs and takes pruned channels with no other change', () => {
    // 2x2x1 -> conv_1 (2 BN channels) -> pointwise (3) -> flatten -> dense_2 (2 logits)
    const model = new Model(
      'toy',
      [conv('conv_1', 2, { batchNorm: true }), pointwise('mix', 3), flatten(), dense('dense_2', 2, { output: true })],
      [2, 2, 1],
      1,
    );
    expect(model.prunable.map((l) => `${l.name}:${l.shape.join('x')}`)).toEqual(['conv_1:3x3x1x2', 'mix:1x1x2x3', 'dense_2:12x2']);

    // Forward: the toy layer's kernel is applied between conv_1 and the logits.
    const x = tf.tensor4d([1, -2, 3, 0.5], [1, 2, 2, 1]);
    const logits = tf.tidy(() => model.forward(x, false).arraySync());
    const byHand = tf.tidy(() => {
      const conv1 = tf.relu(tf.div<tf.Tensor4D>(tf.conv2d(x, model.kernel('conv_1') as tf.Tensor4D, 1, 'same'), Math.sqrt(1 + 1e-5)));
      const mixed = tf.conv2d(conv1, model.kernel('mix') as tf.Tensor4D, 1, 'valid');
      return tf.add(tf.matMul(tf.reshape(mixed, [1, 12]), model.kernel('dense_2') as tf.Tensor2D), model.params.get('dense_2/bias')!).arraySync() as number[][];
    });
    expect(logits[0][0]).toBeCloseTo(byHand[0][0], 5);
    expect(logits[0][1]).toBeCloseTo(byHand[0][1], 5);

    // FLOPs: conv_1 4 * 9 * 1 * 2 = 72 MACs, mix 4 * 2 * 3 = 24, dense_2 12 * 2 = 24; conv_1 keeping 1 channel halves mix.
    expect(forwardFlops(model)).toBe(2 * (72 + 24 + 24));
    expect(forwardFlops(model, new Map([['conv_1', 1]]))).toBe(2 * (36 + 12 + 24));

    // Channel map: conv_1's channel 1 pruned removes mix's input row 1 (3 weights), and nothing after it.
    const masks = channelKernelMasks(model, new Map([['conv_1', Uint8Array.from([1, 0])]]));
    expect([...masks.get('mix').keep]).toEqual([1, 1, 1, 0, 0, 0]);
    expect(masks.get('dense_2').keep.every((k) => k === 1)).toBe(true);
    tf.dispose(x);
    model.dispose();
  });
});

describe('shapes of a pass', () => {
  it('with kept channels are the shapes of the physically slimmer network, so its FLOPs match', () => {
    const kept = new Map([
      ['conv_1', 3],
      ['conv_2', 5],
      ['conv_3', 1],
      ['conv_4', 7],
    ]);
    const full = archLayers('conv-4-bn', 0.25, 10);
    const slim = [conv('conv_1', 3, { batchNorm: true }), conv('conv_2', 5, { batchNorm: true }), maxPool(), conv('conv_3', 1, { batchNorm: true }), conv('conv_4', 7, { batchNorm: true }), ...full.slice(5)];
    const shapes = (layers: Layer[], k?: Map<string, number>) => [...walkLayers(layers, [32, 32, 3], k)].map((step) => step.output);
    expect(shapes(full, kept)).toEqual(shapes(slim));
    expect(shapes(full, kept).slice(0, 7)).toEqual([[32, 32, 3], [32, 32, 5], [16, 16, 5], [16, 16, 1], [16, 16, 7], [8, 8, 7], [448]]);
    expect(forwardFlops({ layers: full, inputShape: [32, 32, 3] }, kept)).toBe(forwardFlops({ layers: slim, inputShape: [32, 32, 3] }));
  });

  it('name the layer and the shape it cannot take, before any variable exists', () => {
    const before = tf.memory().numTensors;
    expect(() => new Model('bad', [conv('conv_1', 2, { batchNorm: false }), dense('dense_1', 2, { output: true })], [4, 4, 1], 1)).toThrow(
      'Layer dense_1 needs a flat input (a flatten layer before it), got [4, 4, 2]',
    );
    expect(() => new Model('bad', [flatten(), maxPool(), dense('dense_1', 2, { output: true })], [4, 4, 1], 1)).toThrow(
      'Layer maxPool needs a [height, width, channels] input, got [16]',
    );
    expect(() => new Model('bad', [conv('conv_1', 2, { batchNorm: false })], [4, 4, 1], 1)).toThrow('Model bad must end in a flat layer of logits, not [4, 4, 2]');
    expect(tf.memory().numTensors).toBe(before);
  });
});
