import { gzipSync } from 'fflate';
import { createTar } from 'nanotar';
import { describe, expect, it } from 'vitest';
import { archiveFileSource, readCifarArchive, readTar } from './archive';
import { BYTES_PER_IMAGE, DataError, parseCifar10, parseCifar100 } from './cifar';

/** `count` records of `labelBytes` label bytes each; pixel bytes encode (record, position). */
function records(count: number, labels: (i: number) => number[]): Uint8Array {
  const labelBytes = labels(0).length;
  const size = labelBytes + BYTES_PER_IMAGE;
  const out = new Uint8Array(count * size);
  for (let i = 0; i < count; i++) {
    out.set(labels(i), i * size);
    for (let p = 0; p < BYTES_PER_IMAGE; p++) out[i * size + labelBytes + p] = (i * 31 + p) % 251;
  }
  return out;
}

const cifar10Members = () => {
  const files: { name: string; data?: Uint8Array | string }[] = [{ name: 'cifar-10-batches-bin/' }];
  for (let b = 1; b <= 5; b++) files.push({ name: `cifar-10-batches-bin/data_batch_${b}.bin`, data: records(3, (i) => [(b + i) % 10]) });
  files.push({ name: 'cifar-10-batches-bin/test_batch.bin', data: records(2, (i) => [i]) });
  files.push({ name: 'cifar-10-batches-bin/batches.meta.txt', data: 'airplane\nautomobile\n' });
  files.push({ name: 'cifar-10-batches-bin/readme.html', data: '<html></html>' });
  return files;
};

describe('readCifarArchive', () => {
  it('round-trips an official-layout cifar-10-binary.tar.gz', async () => {
    const archive = gzipSync(createTar(cifar10Members()));
    const members = readCifarArchive(archive, 'cifar10', 'cifar-10-binary.tar.gz');
    expect([...members.keys()].sort()).toEqual([
      'batches.meta.txt',
      'data_batch_1.bin',
      'data_batch_2.bin',
      'data_batch_3.bin',
      'data_batch_4.bin',
      'data_batch_5.bin',
      'readme.html',
      'test_batch.bin',
    ]);
    const source = archiveFileSource(members, 'cifar-10-binary.tar.gz');
    const batch = parseCifar10(await source.read('data_batch_4.bin'), 'data_batch_4.bin');
    expect(batch.count).toBe(3);
    expect([...batch.labels]).toEqual([4, 5, 6]);
    expect(new TextDecoder().decode(await source.read('batches.meta.txt'))).toBe('airplane\nautomobile\n');
    await expect(source.read('data_batch_9.bin')).rejects.toThrow(/cifar-10-binary\.tar\.gz has no file data_batch_9\.bin/);
  });

  it('accepts ./-prefixed member names and an uncompressed tar', () => {
    const files = cifar10Members().map((f) => ({ ...f, name: `./${f.name}` }));
    const members = readCifarArchive(createTar(files), 'cifar10', 'cifar-10-binary.tar');
    expect(members.get('test_batch.bin')?.length).toBe(2 * 3073);
  });

  it('reads the CIFAR-100 layout with both label bytes', () => {
    const archive = gzipSync(
      createTar([
        { name: 'cifar-100-binary/train.bin', data: records(4, (i) => [i, 50 + i]) },
        { name: 'cifar-100-binary/test.bin', data: records(1, () => [19, 99]) },
        { name: 'cifar-100-binary/fine_label_names.txt', data: 'apple\n' },
      ]),
    );
    const members = readCifarArchive(archive, 'cifar100', 'cifar-100-binary.tar.gz');
    const train = parseCifar100(members.get('train.bin')!, 'train.bin', 'coarse');
    expect([...train.labels]).toEqual([0, 1, 2, 3]);
    expect([...parseCifar100(members.get('test.bin')!, 'test.bin').labels]).toEqual([99]);
  });

  it('names the archive and the expected members when some are missing', () => {
    const files = cifar10Members().filter((f) => !f.name.endsWith('data_batch_3.bin') && !f.name.endsWith('test_batch.bin'));
    const archive = gzipSync(createTar(files));
    let message = '';
    try {
      readCifarArchive(archive, 'cifar10', 'downloads/cifar-10-binary.tar.gz');
    } catch (error) {
      expect(error).toBeInstanceOf(DataError);
      message = (error as Error).message;
    }
    expect(message).toMatch(/^downloads\/cifar-10-binary\.tar\.gz is not an official cifar-10-binary\.tar\.gz/);
    expect(message).toContain(
      'expected members cifar-10-batches-bin/data_batch_1.bin, cifar-10-batches-bin/data_batch_2.bin, ' +
        'cifar-10-batches-bin/data_batch_3.bin, cifar-10-batches-bin/data_batch_4.bin, ' +
        'cifar-10-batches-bin/data_batch_5.bin, cifar-10-batches-bin/test_batch.bin',
    );
    expect(message).toContain('missing data_batch_3.bin, test_batch.bin');
  });

  it('does not take members from another folder (a CIFAR-10 archive given as CIFAR-100)', () => {
    const archive = gzipSync(createTar(cifar10Members()));
    expect(() => readCifarArchive(archive, 'cifar100', 'x.tar.gz')).toThrow(
      /expected members cifar-100-binary\/train\.bin, cifar-100-binary\/test\.bin; missing train\.bin, test\.bin; it holds cifar-10-batches-bin\/data_batch_1\.bin/,
    );
  });

  it('reports a truncated gzip stream clearly', () => {
    const archive = gzipSync(createTar(cifar10Members()), { level: 0 });
    const truncated = archive.subarray(0, Math.floor(archive.length * 0.6));
    expect(() => readCifarArchive(truncated, 'cifar10', 'cifar-10-binary.tar.gz')).toThrow(
      /cifar-10-binary\.tar\.gz is truncated or corrupt .*download it again/,
    );
    expect(() => readTar(archive.subarray(0, 10), 'tiny.tar.gz')).toThrow(/tiny\.tar\.gz is truncated \(10 bytes/);
  });

  it('reports an empty input as an archive without the expected members', () => {
    expect(() => readCifarArchive(new Uint8Array(0), 'cifar10', 'empty.tar.gz')).toThrow(/missing .*it holds no files/);
  });
});
