import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from './cifar';
import { nodeFileSource } from './node-files';
import { mapFileSource, urlFileSource } from './sources';

describe('mapFileSource', () => {
  const files = new Map<string, Uint8Array | Blob>([
    ['test_batch.bin', new Uint8Array([1, 2, 3])],
    ['cifar-10-batches-bin/data_batch_1.bin', new Blob([new Uint8Array([4, 5])])],
  ]);
  const source = mapFileSource(files, 'dropped files');

  it('reads bytes and blobs, matching a dropped folder path by its base name', async () => {
    expect(source.describe).toBe('dropped files');
    expect([...(await source.read('test_batch.bin'))]).toEqual([1, 2, 3]);
    expect([...(await source.read('data_batch_1.bin'))]).toEqual([4, 5]);
  });

  it('names the missing file and what it holds', async () => {
    await expect(source.read('data_batch_2.bin')).rejects.toThrow(DataError);
    await expect(source.read('data_batch_2.bin')).rejects.toThrow(
      'dropped files has no file data_batch_2.bin; it holds test_batch.bin, cifar-10-batches-bin/data_batch_1.bin',
    );
  });
});

describe('urlFileSource', () => {
  const fakeFetch = (async (url: string) => {
    if (url === '/data/cifar10/test_batch.bin') return new Response(new Uint8Array([9, 8, 7]));
    if (url === 'https://host.example/x/missing.bin') throw new TypeError('fetch failed');
    return new Response('nope', { status: 404, statusText: 'Not Found' });
  }) as unknown as typeof fetch;

  it('joins the prefix and the name', async () => {
    expect([...(await urlFileSource('/data/cifar10', fakeFetch).read('test_batch.bin'))]).toEqual([9, 8, 7]);
    expect([...(await urlFileSource('/data/cifar10/', fakeFetch).read('test_batch.bin'))]).toEqual([9, 8, 7]);
  });

  it('names the URL and the HTTP status or network error', async () => {
    await expect(urlFileSource('/data/cifar10', fakeFetch).read('data_batch_1.bin')).rejects.toThrow(
      'Could not fetch /data/cifar10/data_batch_1.bin: HTTP 404 Not Found',
    );
    await expect(urlFileSource('https://host.example/x', fakeFetch).read('missing.bin')).rejects.toThrow(
      'Could not fetch https://host.example/x/missing.bin: fetch failed',
    );
  });
});

describe('nodeFileSource', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lottery-lab-files-'));
  writeFileSync(join(dir, 'a.bin'), Buffer.from([1, 2, 3, 4]));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file as a plain Uint8Array', async () => {
    const bytes = await nodeFileSource(dir).read('a.bin');
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect([...bytes]).toEqual([1, 2, 3, 4]);
  });

  it('names the full path of a missing file', async () => {
    await expect(nodeFileSource(dir).read('data_batch_1.bin')).rejects.toThrow(
      `Data file not found: ${join(dir, 'data_batch_1.bin')}`,
    );
  });
});
