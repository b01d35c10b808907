/**
 * Parsers for the official CIFAR binary formats
 * (https://www.cs.toronto.edu/~kriz/cifar.html, "binary version").
 *
 * A record is the label byte(s) followed by 3072 pixel bytes: the red plane,
 * then green, then blue, each 32x32 row-major (CHW). TensorFlow.js wants
 * NHWC, so the parsers interleave the planes into HWC bytes once, here, and
 * everything downstream works in HWC.
 */
import type { RawImages } from './types';

/** Anything wrong with data files or archives; the message names the file and what was expected. */
export class DataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataError';
  }
}

export const IMAGE_SIZE = 32;
export const CHANNELS = 3;
export const PIXELS_PER_IMAGE = IMAGE_SIZE * IMAGE_SIZE;
export const BYTES_PER_IMAGE = PIXELS_PER_IMAGE * CHANNELS;
export const CIFAR10_RECORD_BYTES = 1 + BYTES_PER_IMAGE;
export const CIFAR100_RECORD_BYTES = 2 + BYTES_PER_IMAGE;

export const CIFAR10_TRAIN_FILES = [
  'data_batch_1.bin',
  'data_batch_2.bin',
  'data_batch_3.bin',
  'data_batch_4.bin',
  'data_batch_5.bin',
] as const;
export const CIFAR10_TEST_FILE = 'test_batch.bin';
export const CIFAR10_META_FILE = 'batches.meta.txt';
export const CIFAR100_TRAIN_FILE = 'train.bin';
export const CIFAR100_TEST_FILE = 'test.bin';

export type CifarKind = 'cifar10' | 'cifar100';
export type Cifar100Labels = 'fine' | 'coarse';

/** What the official archives contain: the folder every member sits in, and the members we need. */
export interface CifarArchiveLayout {
  fileName: string;
  folder: string;
  required: readonly string[];
  /** Extracted too when present (class-name lists), but not needed to train. */
  optional: readonly string[];
}

export const CIFAR_ARCHIVES: Record<CifarKind, CifarArchiveLayout> = {
  cifar10: {
    fileName: 'cifar-10-binary.tar.gz',
    folder: 'cifar-10-batches-bin',
    required: [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE],
    optional: [CIFAR10_META_FILE],
  },
  cifar100: {
    fileName: 'cifar-100-binary.tar.gz',
    folder: 'cifar-100-binary',
    required: [CIFAR100_TRAIN_FILE, CIFAR100_TEST_FILE],
    optional: ['coarse_label_names.txt', 'fine_label_names.txt'],
  },
};

export const CIFAR10_CLASSES: readonly string[] = [
  'airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck',
];

/** The 20 superclasses, in label order (coarse_label_names.txt). */
export const CIFAR100_COARSE_CLASSES: readonly string[] = [
  'aquatic_mammals', 'fish', 'flowers', 'food_containers', 'fruit_and_vegetables',
  'household_electrical_devices', 'household_furniture', 'insects', 'large_carnivores',
  'large_man-made_outdoor_things', 'large_natural_outdoor_scenes', 'large_omnivores_and_herbivores',
  'medium_mammals', 'non-insect_invertebrates', 'people', 'reptiles', 'small_mammals', 'trees',
  'vehicles_1', 'vehicles_2',
];

/** The 100 classes, in label order (fine_label_names.txt, alphabetical). */
export const CIFAR100_FINE_CLASSES: readonly string[] = [
  'apple', 'aquarium_fish', 'baby', 'bear', 'beaver', 'bed', 'bee', 'beetle', 'bicycle', 'bottle',
  'bowl', 'boy', 'bridge', 'bus', 'butterfly', 'camel', 'can', 'castle', 'caterpillar', 'cattle',
  'chair', 'chimpanzee', 'clock', 'cloud', 'cockroach', 'couch', 'crab', 'crocodile', 'cup', 'dinosaur',
  'dolphin', 'elephant', 'flatfish', 'forest', 'fox', 'girl', 'hamster', 'house', 'kangaroo', 'keyboard',
  'lamp', 'lawn_mower', 'leopard', 'lion', 'lizard', 'lobster', 'man', 'maple_tree', 'motorcycle', 'mountain',
  'mouse', 'mushroom', 'oak_tree', 'orange', 'orchid', 'otter', 'palm_tree', 'pear', 'pickup_truck', 'pine_tree',
  'plain', 'plate', 'poppy', 'porcupine', 'possum', 'rabbit', 'raccoon', 'ray', 'road', 'rocket',
  'rose', 'sea', 'seal', 'shark', 'shrew', 'skunk', 'skyscraper', 'snail', 'snake', 'spider',
  'squirrel', 'streetcar', 'sunflower', 'sweet_pepper', 'table', 'tank', 'telephone', 'television', 'tiger', 'tractor',
  'train', 'trout', 'tulip', 'turtle', 'wardrobe', 'whale', 'willow_tree', 'wolf', 'woman', 'worm',
];

/** Class names for a CIFAR source, in label order. */
export function cifarClassNames(kind: CifarKind, labels: Cifar100Labels = 'fine'): string[] {
  if (kind === 'cifar10') return [...CIFAR10_CLASSES];
  return [...(labels === 'coarse' ? CIFAR100_COARSE_CLASSES : CIFAR100_FINE_CLASSES)];
}

interface RecordLayout {
  /** Label bytes before the pixels, with the number of classes each may take. */
  labelFields: readonly { name: string; numClasses: number }[];
  /** Which label field becomes RawImages.labels. */
  useField: number;
}

/**
 * Parses whole records; checks the file size and every label before
 * returning, so a bad file fails here rather than as a silent NaN later.
 */
function parseRecords(bytes: Uint8Array, fileName: string, layout: RecordLayout): RawImages {
  const labelBytes = layout.labelFields.length;
  const recordBytes = labelBytes + BYTES_PER_IMAGE;
  if (bytes.length === 0) {
    throw new DataError(`${fileName} is empty (0 bytes); expected records of ${recordBytes} bytes each`);
  }
  if (bytes.length % recordBytes !== 0) {
    throw new DataError(
      `${fileName} is ${bytes.length} bytes, not a whole number of ${recordBytes}-byte records ` +
        `(${Math.floor(bytes.length / recordBytes)} records and ${bytes.length % recordBytes} bytes left over); ` +
        'the file is truncated or not in the CIFAR binary format',
    );
  }
  const count = bytes.length / recordBytes;
  const images = new Uint8Array(count * BYTES_PER_IMAGE);
  const labels = new Uint8Array(count);
  for (let record = 0; record < count; record++) {
    const start = record * recordBytes;
    for (let field = 0; field < labelBytes; field++) {
      const value = bytes[start + field];
      const { name, numClasses } = layout.labelFields[field];
      if (value >= numClasses) {
        throw new DataError(
          `${fileName}: record ${record} has ${name} ${value}, outside 0..${numClasses - 1}; ` +
            'the file is corrupt or not in this CIFAR format',
        );
      }
    }
    labels[record] = bytes[start + layout.useField];
    const red = start + labelBytes;
    const green = red + PIXELS_PER_IMAGE;
    const blue = green + PIXELS_PER_IMAGE;
    let out = record * BYTES_PER_IMAGE;
    for (let pixel = 0; pixel < PIXELS_PER_IMAGE; pixel++) {
      images[out++] = bytes[red + pixel];
      images[out++] = bytes[green + pixel];
      images[out++] = bytes[blue + pixel];
    }
  }
  const numClasses = layout.labelFields[layout.useField].numClasses;
  return { images, labels, count, numClasses };
}

/** One CIFAR-10 batch file (`data_batch_N.bin`, `test_batch.bin`). */
export function parseCifar10(bytes: Uint8Array, fileName: string): RawImages {
  return parseRecords(bytes, fileName, { labelFields: [{ name: 'label', numClasses: 10 }], useField: 0 });
}

/** The CIFAR-100 `train.bin` / `test.bin`: a coarse then a fine label byte per record. */
export function parseCifar100(bytes: Uint8Array, fileName: string, labels: Cifar100Labels = 'fine'): RawImages {
  return parseRecords(bytes, fileName, {
    labelFields: [
      { name: 'coarse label', numClasses: 20 },
      { name: 'fine label', numClasses: 100 },
    ],
    useField: labels === 'coarse' ? 0 : 1,
  });
}

/** Joins parsed files (e.g. the five CIFAR-10 training batches) into one set. */
export function concatRawImages(parts: readonly RawImages[]): RawImages {
  if (parts.length === 0) throw new DataError('No image files to join');
  if (parts.length === 1) return parts[0];
  const count = parts.reduce((sum, part) => sum + part.count, 0);
  const images = new Uint8Array(count * BYTES_PER_IMAGE);
  const labels = new Uint8Array(count);
  let offset = 0;
  for (const part of parts) {
    images.set(part.images, offset * BYTES_PER_IMAGE);
    labels.set(part.labels, offset);
    offset += part.count;
  }
  return { images, labels, count, numClasses: Math.max(...parts.map((part) => part.numClasses)) };
}

/** The first `limit` images (views, no copy); the set itself when it is no larger. */
export function takeFirst(raw: RawImages, limit: number | undefined): RawImages {
  if (limit === undefined || limit >= raw.count) return raw;
  return {
    images: raw.images.subarray(0, limit * BYTES_PER_IMAGE),
    labels: raw.labels.subarray(0, limit),
    count: limit,
    numClasses: raw.numClasses,
  };
}
