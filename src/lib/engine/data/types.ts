import type * as tf from '@tensorflow/tfjs';
import type { DataSource } from '../config';

/** Raw images as parsed from files: N images, 32x32x3, HWC byte order, plus labels. */
export interface RawImages {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  numClasses: number;
}

/**
 * Where data bytes come from: a folder in Node, a URL prefix or dropped files in
 * the browser. `describe` names the place in error messages.
 */
export interface FileSource {
  read(name: string): Promise<Uint8Array>;
  describe: string;
}

/** One split kept on the device: normalised float32 images and int32 labels. */
export interface Split {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
  size: number;
}

export interface Batch {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
}

/** A seeded stream of training batches that reshuffles every epoch. */
export interface BatchStream {
  /**
   * The next batch; the caller disposes its tensors. Each epoch visits every
   * training image once, so its last batch holds the remainder and may be
   * smaller than the batch size.
   */
  next(): Batch;
  /** ceil(training images / batch size), matching `totalIterations` in config.ts. */
  readonly stepsPerEpoch: number;
}

export interface Dataset {
  source: DataSource;
  numClasses: number;
  classNames: string[];
  train: Split;
  /** Held out of the training files; null when `validation` is 0, or a class subset's hold-out drew none of its classes. */
  validation: Split | null;
  test: Split;
  /**
   * Per-channel statistics of the training split used for normalisation, in
   * [0, 1] pixel units: a split holds (byte / 255 - mean) / std.
   */
  mean: [number, number, number];
  std: [number, number, number];
  /** Training batches, shuffled with `seed`, augmented when the config asks. */
  batches(batchSize: number, seed: number): BatchStream;
  /**
   * These classes only, relabelled 0..n-1 in the order given (COLT's
   * segments, transfer tasks). Mean and std stay the parent's. Shares nothing
   * that `dispose` of either dataset would free twice.
   */
  classSubset(classes: readonly number[]): Dataset;
  dispose(): void;
}
