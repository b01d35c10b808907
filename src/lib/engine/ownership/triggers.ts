/**
 * A black-box ownership signature (Chen et al.'s Scheme 3, after the
 * backdoor-watermarking literature): a trigger set of abstract noise images
 * with fixed random labels, mixed into the training batches of the owner's
 * network. The owner later checks a suspect model through its predictions
 * alone: the owner's model gives the triggers' labels, a model trained
 * without them gives about chance.
 *
 * Departures from the reference code (../shared/reference/next-methods.md §3):
 * the images are generated from the run's seed (the reference ships 100 JPEG
 * pictures), and the triggers are added to each batch rather than taking the
 * place of clean images, so the signed ticket sees exactly the clean batches
 * the unsigned one sees.
 */
import * as tf from '@tensorflow/tfjs';
import { BYTES_PER_IMAGE, CHANNELS, IMAGE_SIZE } from '../data/cifar';
import { uploadSplit } from '../data/dataset';
import type { Batch, Dataset, RawImages, Split } from '../data/types';
import { Rng, subSeed } from '../rng';

/** Side of one colour block, in pixels: 8x8 blocks of 4x4 pixels, coarse enough to survive the networks' pooling. */
const BLOCK = 4;

/**
 * `count` trigger images (32x32x3 bytes, HWC): each an 8x8 grid of blocks of
 * uniformly random colour, with a label drawn uniformly from `numClasses`.
 */
export function triggerImages(count: number, numClasses: number, seed: number): RawImages {
  const rng = new Rng(seed);
  const images = new Uint8Array(count * BYTES_PER_IMAGE);
  const labels = new Uint8Array(count);
  const blocks = IMAGE_SIZE / BLOCK;
  for (let n = 0; n < count; n++) {
    const colours = Uint8Array.from({ length: blocks * blocks * CHANNELS }, () => rng.int(256));
    for (let y = 0; y < IMAGE_SIZE; y++) {
      for (let x = 0; x < IMAGE_SIZE; x++) {
        const block = (Math.floor(y / BLOCK) * blocks + Math.floor(x / BLOCK)) * CHANNELS;
        const pixel = n * BYTES_PER_IMAGE + (y * IMAGE_SIZE + x) * CHANNELS;
        for (let c = 0; c < CHANNELS; c++) images[pixel + c] = colours[block + c];
      }
    }
    labels[n] = rng.int(numClasses);
  }
  return { images, labels, count, numClasses };
}

/** The trigger set on the device, normalised with the dataset's training statistics as every split is. */
export function triggerSet(dataset: Dataset, count: number, seed: number): Split {
  const { x, y, size } = uploadSplit(triggerImages(count, dataset.numClasses, seed), dataset);
  return { x, y, size };
}

/**
 * Which triggers go into the batch of `iteration`: `perBatch` of them, going
 * through the set in a fresh seeded order each pass, so every trigger is seen
 * equally often. A function of the iteration alone, so a schedule resumed
 * at any iteration mixes in what a run from 0 would.
 */
export function triggerIndices(size: number, perBatch: number, seed: number, iteration: number): number[] {
  const indices: number[] = [];
  let pass = -1;
  let order: Uint32Array | null = null;
  for (let j = 0; j < perBatch; j++) {
    const slot = iteration * perBatch + j;
    const slotPass = Math.floor(slot / size);
    if (slotPass !== pass) {
      pass = slotPass;
      order = new Rng(subSeed(seed, `trigger-pass-${pass}`)).shuffle(Uint32Array.from({ length: size }, (_, k) => k));
    }
    indices.push(order![slot % size]);
  }
  return indices;
}

/** A `mixBatch` for the trainer: each batch with `perBatch` triggers appended (new tensors; the batch stays the caller's). */
export function mixTriggers(triggers: Split, perBatch: number, seed: number): (batch: Batch, iteration: number) => Batch {
  return (batch, iteration) =>
    tf.tidy(() => {
      const picked = tf.tensor1d(triggerIndices(triggers.size, perBatch, seed, iteration), 'int32');
      return {
        x: tf.concat([batch.x, tf.gather(triggers.x, picked)]) as tf.Tensor4D,
        y: tf.concat([batch.y, tf.gather(triggers.y, picked)]) as tf.Tensor1D,
      };
    });
}
