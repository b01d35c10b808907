/**
 * The engine's data API for every runtime (page, Web Worker, Node). The Node
 * folder reader is not here on purpose: import `./node-files` directly from
 * Node-only code so bundles never pull in `node:fs`.
 */
export type { Batch, BatchStream, Dataset, FileSource, RawImages, Split } from './types';
export {
  BYTES_PER_IMAGE,
  CHANNELS,
  CIFAR10_CLASSES,
  CIFAR10_META_FILE,
  CIFAR10_RECORD_BYTES,
  CIFAR10_TEST_FILE,
  CIFAR10_TRAIN_FILES,
  CIFAR100_COARSE_CLASSES,
  CIFAR100_FINE_CLASSES,
  CIFAR100_RECORD_BYTES,
  CIFAR100_TEST_FILE,
  CIFAR100_TRAIN_FILE,
  CIFAR_ARCHIVES,
  DataError,
  IMAGE_SIZE,
  PIXELS_PER_IMAGE,
  cifarClassNames,
  concatRawImages,
  parseCifar10,
  parseCifar100,
  takeFirst,
  type Cifar100Labels,
  type CifarArchiveLayout,
  type CifarKind,
} from './cifar';
export { archiveFileSource, readCifarArchive, readTar } from './archive';
export { mapFileSource, urlFileSource } from './sources';
export { SYNTHETIC_CLASSES, SYNTHETIC_NUM_CLASSES, generateSynthetic } from './synthetic';
export { AUGMENT_PADDING, channelStats, loadDataset, randomCropFlip } from './dataset';
