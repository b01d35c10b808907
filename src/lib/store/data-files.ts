/**
 * CIFAR files the user picked or dropped on the page: which data set they
 * are, and the config and DataLocation that make the worker read them.
 */
import type { DataConfig, DataSource } from '../engine/config';
import type { DataLocation } from '../worker/protocol';

/**
 * parseConfig wants a folder for loose CIFAR files, and files added in the
 * page have none: the config names this placeholder instead, which tells the
 * page to hand the worker the added files.
 */
export const ADDED_FILES_DIR = 'added-files';

const ARCHIVE_PATTERN = /\.(tar\.gz|tgz)$/i;
const CIFAR10_TRAIN_PATTERN = /^data_batch_\d+\.bin$/;
const CIFAR10_TEST_NAME = 'test_batch.bin';
const CIFAR100_TRAIN_NAME = 'train.bin';
const CIFAR100_TEST_NAME = 'test.bin';

export interface AddedData {
  files: Record<string, File>;
  /** The data fields these files imply; the rest of the data config is kept. */
  data: Pick<DataConfig, 'source' | 'dir' | 'archive' | 'train' | 'test'>;
}

/**
 * What the added files are. An archive wins over loose files; the engine
 * checks the contents and names any file that is missing or malformed.
 * Throws when no file looks like CIFAR data.
 */
export function describeAddedFiles(list: File[]): AddedData {
  const files = Object.fromEntries(list.map((file) => [file.name, file]));
  const names = Object.keys(files);
  const archive = names.find((name) => ARCHIVE_PATTERN.test(name));
  if (archive) {
    const source: DataSource = archive.includes('100') ? 'cifar100' : 'cifar10';
    return { files, data: { source, archive, dir: undefined, train: undefined, test: undefined } };
  }
  const cifar10Train = names.filter((name) => CIFAR10_TRAIN_PATTERN.test(name)).sort();
  if (cifar10Train.length > 0 || names.includes(CIFAR10_TEST_NAME)) {
    return {
      files,
      data: { source: 'cifar10', dir: ADDED_FILES_DIR, archive: undefined, train: cifar10Train.length ? cifar10Train : undefined, test: undefined },
    };
  }
  if (names.includes(CIFAR100_TRAIN_NAME) || names.includes(CIFAR100_TEST_NAME)) {
    return { files, data: { source: 'cifar100', dir: ADDED_FILES_DIR, archive: undefined, train: undefined, test: undefined } };
  }
  throw new Error(
    `None of ${names.join(', ') || 'the files'} is CIFAR data: add the official cifar-10-binary.tar.gz / cifar-100-binary.tar.gz, ` +
      `or its .bin files (data_batch_1.bin … test_batch.bin, or train.bin and test.bin).`,
  );
}

/**
 * The data config with another source. CIFAR with neither a folder nor an
 * archive reads added files; going back to synthetic drops that placeholder
 * so the link does not carry it.
 */
export function withSource(data: DataConfig, source: DataSource): DataConfig {
  const readsAddedFiles = source !== 'synthetic' && !data.archive && (!data.dir || data.dir === ADDED_FILES_DIR);
  const dir = readsAddedFiles ? ADDED_FILES_DIR : data.dir === ADDED_FILES_DIR ? undefined : data.dir;
  return { ...data, source, dir };
}

/** Where the worker reads the config's data from; throws when the config needs files the page does not have. */
export function dataLocation(data: DataConfig, added: Record<string, File> | null): DataLocation {
  if (data.source === 'synthetic') return { kind: 'none' };
  if (data.dir && data.dir !== ADDED_FILES_DIR) return { kind: 'url', prefix: data.dir };
  if (added) return { kind: 'files', files: added };
  throw new Error(
    `Add ${data.archive ?? `the ${data.source} files`}: pick them or drop them anywhere on the page ` +
      '(files added in the page are not kept in links).',
  );
}
