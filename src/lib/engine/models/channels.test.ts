/**
 * `model.channels`: output channels per conv layer, overriding the
 * width-scaled count. Validated by name, built by createModel, part of the
 * experiment's identity, carried by a link and by the PyTorch export.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportNetwork } from '../../export/pytorch';
import { decodeConfigHash, encodeConfigHash } from '../../store/config-hash';
import { ConfigError, parseConfig } from '../config';
import { experimentIdentity, identityDifference } from '../identity';
import { archLayers, channelLayers, createModel } from './registry';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const slim = { arch: 'conv-4-bn', width: 0.25, channels: { conv_1: 12, conv_3: 20 } } as const;

describe('model.channels', () => {
  it('builds the named conv layers with those output channels and the others at the width-scaled count', () => {
    const config = parseConfig({ model: slim });
    const model = createModel(config.model.arch, config.model.width, 10, 1, config.model.channels);
    expect(model.batchNorms.map((b) => b.channels)).toEqual([12, 16, 20, 32]);
    expect(model.prunable.map((l) => l.shape)).toEqual([
      [3, 3, 3, 12],
      [3, 3, 12, 16],
      [3, 3, 16, 20],
      [3, 3, 20, 32],
      [8 * 8 * 32, 64],
      [64, 64],
      [64, 10],
    ]);
    expect(tf.tidy(() => model.forward(tf.zeros([2, 32, 32, 3]), true).shape)).toEqual([2, 10]);
    model.discardBatchStats();
    model.dispose();
    expect(channelLayers('conv-4-bn', 0.25)).toEqual(
      new Map([
        ['conv_1', 16],
        ['conv_2', 16],
        ['conv_3', 32],
        ['conv_4', 32],
      ]),
    );
  });

  it('leaves configs without it as they were: no key written, the same identity', async () => {
    const plain = parseConfig({ model: { arch: 'conv-4-bn', width: 0.25 } });
    expect('channels' in plain.model).toBe(false);
    expect(await experimentIdentity(parseConfig({ model: { ...plain.model, channels: undefined } }))).toEqual(await experimentIdentity(plain));
  });

  it('is part of the experiment identity, whatever the key order', async () => {
    const plain = parseConfig({ model: { arch: 'conv-4-bn', width: 0.25 } });
    const withChannels = parseConfig({ model: slim });
    const reordered = parseConfig({ model: { ...slim, channels: { conv_3: 20, conv_1: 12 } } });
    expect((await experimentIdentity(withChannels)).setting).not.toBe((await experimentIdentity(plain)).setting);
    expect(await experimentIdentity(reordered)).toEqual(await experimentIdentity(withChannels));
    expect(identityDifference(plain, withChannels)).toBe('model.channels was unset in the checkpoint, {"conv_1":12,"conv_3":20} now');
  });

  it('refuses a key that names no conv layer of the arch, naming model.channels.<key>', () => {
    const refused = (channels: unknown, arch = 'conv-4-bn') => () => parseConfig({ model: { arch, width: 0.25, channels } });
    expect(refused({ conv_5: 8 })).toThrow(ConfigError);
    expect(refused({ conv_5: 8 })).toThrow(
      'Invalid experiment config: model.channels.conv_5: conv-4-bn has no conv layer "conv_5" (its conv layers: conv_1, conv_2, conv_3, conv_4)',
    );
    expect(refused({ dense_1: 8 })).toThrow(/model\.channels\.dense_1: conv-4-bn has no conv layer "dense_1"/);
    expect(refused({ conv_1: 8 }, 'lenet-300-100')).toThrow(/model\.channels\.conv_1: lenet-300-100 has no conv layer "conv_1" \(it has no conv layers\)/);
    // JSON.parse makes "__proto__" an own key; it is refused by name, not dropped or followed.
    expect(() => parseConfig(JSON.parse('{"model": {"arch": "conv-4-bn", "channels": {"__proto__": 8}}}'))).toThrow(
      /model\.channels\.__proto__: conv-4-bn has no conv layer "__proto__"/,
    );
    expect(() => parseConfig(JSON.parse('{"model": {"arch": "conv-4-bn", "channels": {"constructor": 8}}}'))).toThrow(/model\.channels\.constructor:/);
  });

  it('refuses counts that are not whole numbers from 1 to what width 4 gives the layer', () => {
    const refused = (count: unknown) => () => parseConfig({ model: { arch: 'conv-4-bn', width: 0.25, channels: { conv_2: count } } });
    expect(refused(0)).toThrow(/^Invalid experiment config: model\.channels\.conv_2: must be a whole number of output channels, at least 1, got 0$/);
    expect(refused(2.5)).toThrow(/model\.channels\.conv_2: must be a whole number of output channels, at least 1, got 2\.5/);
    expect(refused('8')).toThrow(/model\.channels\.conv_2: must be a whole number of output channels, at least 1, got "8"/);
    expect(refused(257)).toThrow(/model\.channels\.conv_2: must be a whole number of output channels from 1 to 256 \(what width 4 gives it\), got 257/);
    expect(parseConfig({ model: { arch: 'conv-4-bn', channels: { conv_2: 256 } } }).model.channels).toEqual({ conv_2: 256 });
    expect(() => parseConfig({ model: { arch: 'conv-4-bn', channels: [12] } })).toThrow(/model\.channels: must be an object of conv layer names/);
  });

  it('hands on an object without a prototype', () => {
    const { channels } = parseConfig({ model: slim }).model;
    expect(Object.getPrototypeOf(channels)).toBeNull();
  });

  it('is refused by archLayers too, for callers that do not parse a config', () => {
    expect(() => archLayers('conv-2', 1, 10, { conv_3: 4 })).toThrow(/conv-2 has no conv layer "conv_3"/);
  });

  it('round-trips through a link', () => {
    const config = parseConfig({ method: 'earlybird', model: slim });
    const read = decodeConfigHash(encodeConfigHash(config), parseConfig({}));
    expect(read.error).toBeNull();
    expect(read.config!.model).toEqual({ arch: 'conv-4-bn', width: 0.25, channels: { conv_1: 12, conv_3: 20 } });
  });

  it('goes into the PyTorch export as the kernel shapes the lab builds', () => {
    const config = parseConfig({ method: 'imp', data: { source: 'cifar10', dir: '/data' }, model: { arch: 'conv-4', width: 0.25, channels: { conv_2: 5 } } });
    const network = exportNetwork(config);
    const kernels = Object.fromEntries(network.prunable.map((l) => [l.name, l.shape]));
    expect(kernels.conv_2).toEqual([3, 3, 16, 5]);
    expect(kernels.conv_3).toEqual([3, 3, 5, 32]);
  });
});
