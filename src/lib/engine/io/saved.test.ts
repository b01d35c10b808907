import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { MaskSet } from '../masks/mask';
import { createModel } from '../models/registry';
import { initBackend } from '../runtime/backend';
import { loadMasks, restoreModel, saveMasks, saveModel } from './saved';

beforeAll(async () => {
  await initBackend('cpu');
});

describe('saved tensors and masks', () => {
  it('move every variable of one model into another exactly, and free what they create', async () => {
    const before = tf.memory().numTensors;
    const source = createModel('conv-4-bn', 0.0625, 10, 1);
    const target = createModel('conv-4-bn', 0.0625, 10, 2);
    try {
      const saved = await saveModel(source);
      expect(Object.keys(saved)).toContain('conv_1/bn_variance');
      restoreModel(target, saved, 'The test state');
      for (const [name, variable] of [...source.params, ...source.buffers]) {
        const restored = target.params.get(name) ?? target.buffers.get(name)!;
        expect(await restored.data()).toEqual(await variable.data());
      }
      // Later training must not reach into a saved copy.
      tf.tidy(() => source.kernel('conv_1').assign(tf.zerosLike(source.kernel('conv_1'))));
      expect(saved['conv_1/kernel'].data.some((v) => v !== 0)).toBe(true);
      expect(() => restoreModel(target, { ...saved, 'conv_9/kernel': saved['conv_1/kernel'] }, 'The test state')).toThrow(
        /The test state does not fit model conv-4-bn: weight "conv_9\/kernel" is not a variable of the model/,
      );
    } finally {
      source.dispose();
      target.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('copy masks both ways', () => {
    const model = createModel('conv-2', 0.0625, 10, 1);
    try {
      const masks = MaskSet.dense(model.prunable);
      const saved = saveMasks(masks);
      masks.get('conv_1').keep[0] = 0;
      expect(saved.conv_1.keep[0]).toBe(1);
      expect(loadMasks(saved).counts()).toEqual(MaskSet.dense(model.prunable).counts());
    } finally {
      model.dispose();
    }
  });
});
