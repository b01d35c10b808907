/**
 * Turns a DataConfig into a Dataset on the current tf backend: reads or
 * generates the raw bytes, limits them, holds out validation images,
 * normalises every split with the training split's per-channel statistics,
 * and keeps each split on the device as one tensor so that batches are
 * gathers on the device rather than uploads.
 */
import * as tf from '@tensorflow/tfjs';
import type { DataConfig } from '../config';
import { Rng, subSeed } from '../rng';
import { readCifarArchive, archiveFileSource } from './archive';
import {
  BYTES_PER_IMAGE,
  CHANNELS,
  CIFAR10_TEST_FILE,
  CIFAR10_TRAIN_FILES,
  CIFAR100_TEST_FILE,
  CIFAR100_TRAIN_FILE,
  DataError,
  IMAGE_SIZE,
  cifarClassNames,
  concatRawImages,
  parseCifar10,
  parseCifar100,
  takeFirst,
  type CifarKind,
} from './cifar';
import { SYNTHETIC_CLASSES, generateSynthetic } from './synthetic';
import type { Batch, BatchStream, Dataset, FileSource, RawImages, Split } from './types';

/** Padding on each side before the random 32x32 crop (the standard CIFAR augmentation). */
export const AUGMENT_PADDING = 4;

type Stats = { mean: [number, number, number]; std: [number, number, number] };

/** Per-channel mean and standard deviation of the bytes, in [0, 1] pixel units. */
export function channelStats(raw: RawImages): Stats {
  const sum = [0, 0, 0];
  const sumSquares = [0, 0, 0];
  const { images } = raw;
  const length = raw.count * BYTES_PER_IMAGE;
  for (let i = 0; i < length; i += 3) {
    const r = images[i];
    const g = images[i + 1];
    const b = images[i + 2];
    sum[0] += r;
    sum[1] += g;
    sum[2] += b;
    sumSquares[0] += r * r;
    sumSquares[1] += g * g;
    sumSquares[2] += b * b;
  }
  const pixels = Math.max(1, raw.count * IMAGE_SIZE * IMAGE_SIZE);
  const mean = sum.map((s) => s / pixels / 255) as [number, number, number];
  const std = sumSquares.map((s, c) => {
    const variance = s / pixels / (255 * 255) - mean[c] * mean[c];
    // A constant channel (tiny test sets) would divide by zero.
    return Math.sqrt(Math.max(variance, 1e-12)) || 1;
  }) as [number, number, number];
  return { mean, std };
}

/** The images at `indices`, copied into a new set. */
function pick(raw: RawImages, indices: ArrayLike<number>): RawImages {
  const count = indices.length;
  const images = new Uint8Array(count * BYTES_PER_IMAGE);
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const from = indices[i];
    images.set(raw.images.subarray(from * BYTES_PER_IMAGE, (from + 1) * BYTES_PER_IMAGE), i * BYTES_PER_IMAGE);
    labels[i] = raw.labels[from];
  }
  return { images, labels, count, numClasses: raw.numClasses };
}

/**
 * The images whose label is one of `classes`, in their original order, and
 * their new labels: a label's position in `classes`.
 */
function selectClasses(labels: ArrayLike<number>, classes: readonly number[]): { kept: number[]; relabelled: number[] } {
  const newLabel = new Map(classes.map((label, i) => [label, i]));
  const kept: number[] = [];
  const relabelled: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    const label = newLabel.get(labels[i]);
    if (label === undefined) continue;
    kept.push(i);
    relabelled.push(label);
  }
  return { kept, relabelled };
}

/** Raw images of `classes` only, relabelled 0..n-1 in the order given. */
function rawClassSubset(raw: RawImages, classes: readonly number[]): RawImages {
  const { kept, relabelled } = selectClasses(raw.labels, classes);
  const subset = pick(raw, kept);
  subset.labels.set(relabelled);
  return { ...subset, numClasses: classes.length };
}

/**
 * A split on the device plus a host copy of its labels: class subsets and
 * per-class counts need the labels, and reading them back from the device
 * would stall a GPU pipeline.
 */
interface DeviceSplit extends Split {
  hostLabels: Int32Array;
}

/** Normalises bytes with a per-channel lookup table and uploads them once (also the ownership trigger set, with the training split's statistics). */
export function uploadSplit(raw: RawImages, stats: Stats): DeviceSplit {
  const table = new Float32Array(256 * CHANNELS);
  for (let value = 0; value < 256; value++) {
    for (let c = 0; c < CHANNELS; c++) table[value * CHANNELS + c] = (value / 255 - stats.mean[c]) / stats.std[c];
  }
  const length = raw.count * BYTES_PER_IMAGE;
  const values = new Float32Array(length);
  const { images } = raw;
  for (let i = 0; i < length; i += 3) {
    values[i] = table[images[i] * 3];
    values[i + 1] = table[images[i + 1] * 3 + 1];
    values[i + 2] = table[images[i + 2] * 3 + 2];
  }
  const hostLabels = Int32Array.from(raw.labels.subarray(0, raw.count));
  return {
    x: tf.tensor4d(values, [raw.count, IMAGE_SIZE, IMAGE_SIZE, CHANNELS], 'float32'),
    y: tf.tensor1d(hostLabels, 'int32'),
    size: raw.count,
    hostLabels,
  };
}

function disposeSplit(split: DeviceSplit | null): void {
  if (!split) return;
  split.x.dispose();
  split.y.dispose();
}

/**
 * Random crop after padding, and a random horizontal flip, per image, as one
 * gather: each output pixel reads one pixel of the batch, or `fill` where the
 * crop reaches into the padding. As the reference (torchvision's Pad(4) or
 * RandomCrop(32, padding=4) on raw pixels, then normalisation), `fill` is a
 * black pixel in normalised units. The caller owns both the input and the
 * result.
 */
export function randomCropFlip(
  x: tf.Tensor4D,
  rng: Rng,
  fill: readonly [number, number, number],
  padding = AUGMENT_PADDING,
): tf.Tensor4D {
  const [batch, height, width, channels] = x.shape;
  const fillIndex = batch * height * width;
  const sources = new Int32Array(batch * height * width);
  let k = 0;
  for (let b = 0; b < batch; b++) {
    const top = rng.int(2 * padding + 1) - padding;
    const left = rng.int(2 * padding + 1) - padding;
    const flip = rng.next() < 0.5;
    for (let row = 0; row < height; row++) {
      const sourceRow = top + row;
      for (let col = 0; col < width; col++) {
        const sourceCol = left + (flip ? width - 1 - col : col);
        const inside = sourceRow >= 0 && sourceRow < height && sourceCol >= 0 && sourceCol < width;
        sources[k++] = inside ? (b * height + sourceRow) * width + sourceCol : fillIndex;
      }
    }
  }
  return tf.tidy(() => {
    const pixels = tf.concat([tf.reshape(x, [fillIndex, channels]), tf.tensor2d([fill.slice(0, channels)], [1, channels])]);
    const picked = tf.gather(pixels, tf.tensor1d(sources, 'int32'));
    return tf.reshape(picked, [batch, height, width, channels]) as tf.Tensor4D;
  });
}

class ShuffledBatches implements BatchStream {
  readonly stepsPerEpoch: number;
  private readonly order: Int32Array;
  private position: number;
  private readonly shuffleRng: Rng;
  private readonly augmentRng: Rng | null;
  /** A black pixel in normalised units: what augmentation pads with. */
  private readonly black: [number, number, number];

  constructor(
    private readonly dataset: TensorDataset,
    private readonly batchSize: number,
    seed: number,
    augment: boolean,
  ) {
    const size = dataset.train.size;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new DataError(`Batch size must be a positive integer, got ${batchSize}`);
    if (size === 0) throw new DataError('The training split is empty; there is nothing to batch');
    this.stepsPerEpoch = Math.ceil(size / batchSize);
    this.order = Int32Array.from({ length: size }, (_, i) => i);
    this.shuffleRng = new Rng(subSeed(seed, 'batches'));
    this.augmentRng = augment ? new Rng(subSeed(seed, 'augment')) : null;
    this.black = [0, 1, 2].map((c) => -dataset.mean[c] / dataset.std[c]) as [number, number, number];
    this.position = size; // so the first call shuffles
  }

  next(): Batch {
    if (this.dataset.disposed) throw new DataError('This dataset was disposed; load it again to draw batches');
    if (this.position >= this.order.length) {
      this.shuffleRng.shuffle(this.order);
      this.position = 0;
    }
    // The last batch of an epoch is the remainder, so each epoch visits every image once.
    const end = Math.min(this.position + this.batchSize, this.order.length);
    const indices = this.order.slice(this.position, end);
    this.position = end;
    const { train } = this.dataset;
    return tf.tidy(() => {
      const picked = tf.tensor1d(indices, 'int32');
      const x = tf.gather(train.x, picked) as tf.Tensor4D;
      const y = tf.gather(train.y, picked) as tf.Tensor1D;
      return { x: this.augmentRng ? randomCropFlip(x, this.augmentRng, this.black) : x, y };
    });
  }
}

class TensorDataset implements Dataset {
  disposed = false;

  constructor(
    readonly source: Dataset['source'],
    readonly numClasses: number,
    readonly classNames: string[],
    readonly train: DeviceSplit,
    readonly validation: DeviceSplit | null,
    readonly test: DeviceSplit,
    readonly mean: [number, number, number],
    readonly std: [number, number, number],
    private readonly augment: boolean,
  ) {}

  batches(batchSize: number, seed: number): BatchStream {
    return new ShuffledBatches(this, batchSize, seed, this.augment);
  }

  classSubset(classes: readonly number[]): Dataset {
    if (this.disposed) throw new DataError('This dataset was disposed; load it again to take a class subset');
    const valid = classes.every((label) => Number.isInteger(label) && label >= 0 && label < this.numClasses);
    if (classes.length === 0 || !valid || new Set(classes).size !== classes.length) {
      throw new DataError(`Class subset [${classes.join(', ')}] is not a list of distinct classes within 0..${this.numClasses - 1}`);
    }
    const subset = (split: DeviceSplit): DeviceSplit => {
      const { kept, relabelled } = selectClasses(split.hostLabels, classes);
      const hostLabels = Int32Array.from(relabelled);
      // New tensors, gathered on the device: the subset owns them and never
      // frees the parent's.
      const x = tf.tidy(() => tf.gather(split.x, tf.tensor1d(kept, 'int32')) as tf.Tensor4D);
      return { x, y: tf.tensor1d(hostLabels, 'int32'), size: kept.length, hostLabels };
    };
    // A hold-out that drew none of these classes is no validation split: an
    // empty one would give a NaN loss and freeze the early stop.
    const validationCount = this.validation ? selectClasses(this.validation.hostLabels, classes).kept.length : 0;
    return new TensorDataset(
      this.source,
      classes.length,
      classes.map((label) => this.classNames[label]),
      subset(this.train),
      validationCount > 0 ? subset(this.validation!) : null,
      subset(this.test),
      [...this.mean],
      [...this.std],
      this.augment,
    );
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    disposeSplit(this.train);
    disposeSplit(this.validation);
    disposeSplit(this.test);
  }
}

/**
 * Names in data.train, data.test and data.archive are file names inside the
 * data folder, never paths: a name with a separator or `..` could read any
 * file the process can (`../../../../etc/passwd`). Checked before anything
 * is read; throws naming the field and the name.
 */
export function checkDataFileNames(config: DataConfig): void {
  const named: [field: string, name: string | undefined][] = [
    ...(config.train ?? []).map((name, i): [string, string] => [`data.train[${i}]`, name]),
    ['data.test', config.test],
    ['data.archive', config.archive],
  ];
  for (const [field, name] of named) {
    if (name === undefined) continue;
    if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
      throw new DataError(
        `${field}: ${JSON.stringify(name)} is not a file name inside the data folder (data.dir): names may not be empty, ".." or hold "/", "\\" or NUL`,
      );
    }
  }
}

async function readCifar(
  kind: CifarKind,
  config: DataConfig,
  files: FileSource | null,
): Promise<{ train: RawImages; test: RawImages }> {
  checkDataFileNames(config);
  if (!files) {
    throw new DataError(
      `Data source "${kind}" needs its files: give a folder (data.dir) or drop the files / the official ${kind === 'cifar10' ? 'cifar-10' : 'cifar-100'}-binary.tar.gz`,
    );
  }
  // Error messages name files as `<where they came from>/<name>`.
  const place = (from: FileSource, name: string) => `${from.describe.replace(/\/+$/, '')}/${name}`;
  let source = files;
  if (config.archive) {
    const archiveName = place(files, config.archive);
    source = archiveFileSource(readCifarArchive(await files.read(config.archive), kind, archiveName), archiveName);
  }
  const parse = (bytes: Uint8Array, name: string) =>
    kind === 'cifar10' ? parseCifar10(bytes, name) : parseCifar100(bytes, name, config.labels);
  const trainNames = config.train ?? (kind === 'cifar10' ? [...CIFAR10_TRAIN_FILES] : [CIFAR100_TRAIN_FILE]);
  if (trainNames.length === 0) throw new DataError('data.train lists no training files');
  const testName = config.test ?? (kind === 'cifar10' ? CIFAR10_TEST_FILE : CIFAR100_TEST_FILE);

  // Files are read one at a time and reading stops once trainLimit is met,
  // so a small limit does not pull in all 150 MB.
  const parts: RawImages[] = [];
  let have = 0;
  for (const name of trainNames) {
    if (config.trainLimit !== undefined && have >= config.trainLimit) break;
    const part = parse(await source.read(name), place(source, name));
    parts.push(part);
    have += part.count;
  }
  const train = takeFirst(concatRawImages(parts), config.trainLimit);
  const test = takeFirst(parse(await source.read(testName), place(source, testName)), config.testLimit);
  return { train, test };
}

/**
 * Loads the data a config asks for onto the current tf backend.
 *
 * - `trainLimit` caps the images read from the training files; the
 *   `validation` images are then held out of those (seeded shuffle), so the
 *   training split has trainLimit - validation images.
 * - Synthetic data is generated from `seed` (train and test from separate
 *   sub-seeds); pass the same seed to get the same images.
 * - `files` reads `data.dir` (nodeFileSource / urlFileSource / dropped files);
 *   it may be null for synthetic data.
 */
export async function loadDataset(config: DataConfig, seed: number, files: FileSource | null): Promise<Dataset> {
  let train: RawImages;
  let test: RawImages;
  let classNames: string[];
  if (config.source === 'synthetic') {
    const trainCount = Math.min(config.syntheticTrain, config.trainLimit ?? Infinity);
    const testCount = Math.min(config.syntheticTest, config.testLimit ?? Infinity);
    train = generateSynthetic(trainCount, subSeed(seed, 'synthetic-train'), config.syntheticDifficulty);
    test = generateSynthetic(testCount, subSeed(seed, 'synthetic-test'), config.syntheticDifficulty);
    classNames = [...SYNTHETIC_CLASSES];
  } else {
    ({ train, test } = await readCifar(config.source, config, files));
    classNames = cifarClassNames(config.source, config.labels);
  }
  if (config.classes) {
    // Before the hold-out, so validation comes from the task's own classes.
    const classes = config.classes;
    const missing = classes.filter((label) => label >= train.numClasses);
    if (missing.length > 0) throw new DataError(`data.classes: class ${missing.join(', ')} is not in the data, whose classes are 0..${train.numClasses - 1}`);
    train = rawClassSubset(train, classes);
    test = rawClassSubset(test, classes);
    classNames = classes.map((label) => classNames[label]);
    if (train.count === 0) throw new DataError(`data.classes: the training images hold none of classes ${classes.join(', ')}`);
  }

  const holdOut = config.validation;
  if (holdOut >= train.count) {
    throw new DataError(
      `data.validation (${holdOut}) must be smaller than the ${train.count} training images` +
        (config.trainLimit !== undefined ? ` (data.trainLimit ${config.trainLimit})` : ''),
    );
  }
  let validationRaw: RawImages | null = null;
  if (holdOut > 0) {
    const order = new Rng(subSeed(seed, 'validation')).shuffle(Int32Array.from({ length: train.count }, (_, i) => i));
    // Sorted back into file order so the training split's order does not depend on the hold-out.
    const validationIndices = order.slice(0, holdOut).sort();
    const trainIndices = order.slice(holdOut).sort();
    validationRaw = pick(train, validationIndices);
    train = pick(train, trainIndices);
  }

  const stats = channelStats(train);
  const splits: DeviceSplit[] = [];
  try {
    const trainSplit = uploadSplit(train, stats);
    splits.push(trainSplit);
    const validationSplit = validationRaw ? uploadSplit(validationRaw, stats) : null;
    if (validationSplit) splits.push(validationSplit);
    const testSplit = uploadSplit(test, stats);
    splits.push(testSplit);
    return new TensorDataset(
      config.source,
      train.numClasses,
      classNames,
      trainSplit,
      validationSplit,
      testSplit,
      stats.mean,
      stats.std,
      config.augment,
    );
  } catch (error) {
    // Out of device memory part-way: free what was uploaded.
    for (const split of splits) disposeSplit(split);
    throw error;
  }
}
