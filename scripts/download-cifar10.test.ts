import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'fflate';
import { createTar } from 'nanotar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BYTES_PER_IMAGE, DataError, parseCifar10 } from '../src/lib/engine/data/cifar';
import { downloadCifar10 } from './download-cifar10';

const RECORDS_PER_FILE = 4;
const BATCHES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
const META = 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n';

/** A few valid CIFAR-10 records; `fileIndex` makes each file's labels and pixels distinct. */
function batchBytes(fileIndex: number): Uint8Array {
  const size = 1 + BYTES_PER_IMAGE;
  const out = new Uint8Array(RECORDS_PER_FILE * size);
  for (let r = 0; r < RECORDS_PER_FILE; r++) {
    out[r * size] = (fileIndex + r) % 10;
    for (let p = 0; p < BYTES_PER_IMAGE; p++) out[r * size + 1 + p] = (fileIndex * 17 + r * 5 + p) % 256;
  }
  return out;
}

// Stored (level 0) so the archive is large enough to cut in the middle of a member.
const ARCHIVE = gzipSync(
  createTar([
    { name: 'cifar-10-batches-bin/' },
    ...BATCHES.map((name, i) => ({ name: `cifar-10-batches-bin/${name}`, data: batchBytes(i) })),
    { name: 'cifar-10-batches-bin/batches.meta.txt', data: META },
  ]),
  { level: 0 },
);

interface Hit {
  path: string;
  range: string | undefined;
}

let server: Server;
let base = '';
const hits: Hit[] = [];
let flakyCalls = 0;
let flakyResponse: import('node:http').ServerResponse | null = null;

/** Serves the archive with Range support, plus broken variants by path. */
function handle(request: IncomingMessage, response: import('node:http').ServerResponse): void {
  const path = request.url ?? '/';
  const range = request.headers.range;
  hits.push({ path, range });
  if (path === '/truncated.tar.gz') {
    const cut = ARCHIVE.subarray(0, Math.floor(ARCHIVE.length * 0.6));
    response.writeHead(200, { 'Content-Length': cut.length });
    response.end(cut);
    return;
  }
  if (path === '/flaky.tar.gz' && flakyCalls++ === 0) {
    // Promise the whole archive and send a third; the test cuts the
    // connection once the client has written some of it to disk (a cut made
    // earlier would also drop what fetch had received but not yet handed over).
    response.writeHead(200, { 'Content-Length': ARCHIVE.length });
    response.write(ARCHIVE.subarray(0, Math.floor(ARCHIVE.length / 3)));
    flakyResponse = response;
    return;
  }
  if (path !== '/cifar-10-binary.tar.gz' && path !== '/flaky.tar.gz') {
    response.writeHead(404, { 'Content-Type': 'text/plain' });
    response.end('not here');
    return;
  }
  const match = /^bytes=(\d+)-$/.exec(range ?? '');
  if (match) {
    const start = Number(match[1]);
    if (start >= ARCHIVE.length) {
      response.writeHead(416, { 'Content-Range': `bytes */${ARCHIVE.length}` });
      response.end();
      return;
    }
    response.writeHead(206, {
      'Content-Length': ARCHIVE.length - start,
      'Content-Range': `bytes ${start}-${ARCHIVE.length - 1}/${ARCHIVE.length}`,
    });
    response.end(ARCHIVE.subarray(start));
    return;
  }
  response.writeHead(200, { 'Content-Length': ARCHIVE.length });
  response.end(ARCHIVE);
}

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'lottery-lab-cifar10-'));
  dirs.push(dir);
  return dir;
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((done) => server.close(() => done()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('downloadCifar10', () => {
  it('downloads, verifies and extracts the batches, then does nothing on a rerun', async () => {
    const dir = tempDir();
    const lines: string[] = [];
    const progress: number[] = [];
    const result = await downloadCifar10({
      url: `${base}/cifar-10-binary.tar.gz`,
      dir,
      log: (line) => lines.push(line),
      onProgress: (received) => progress.push(received),
    });
    expect(result.downloaded).toBe(true);
    expect(result.records).toEqual(Object.fromEntries(BATCHES.map((name) => [name, RECORDS_PER_FILE])));
    BATCHES.forEach((name, i) => {
      const raw = parseCifar10(new Uint8Array(readFileSync(join(dir, name))), name);
      expect(raw.count).toBe(RECORDS_PER_FILE);
      expect(raw.labels[0]).toBe(i % 10);
    });
    expect(readFileSync(join(dir, 'batches.meta.txt'), 'utf8')).toBe(META);
    // The archive is removed after extraction; nothing half-written is left.
    expect(existsSync(join(dir, 'cifar-10-binary.tar.gz'))).toBe(false);
    expect(existsSync(join(dir, 'cifar-10-binary.tar.gz.part'))).toBe(false);
    expect(progress.at(-1)).toBe(ARCHIVE.length);
    expect(lines.join('\n')).toMatch(/Extracted 6 batches \(24 images\)/);

    const requestsBefore = hits.length;
    const again = await downloadCifar10({ url: `${base}/cifar-10-binary.tar.gz`, dir, log: (line) => lines.push(line) });
    expect(again.downloaded).toBe(false);
    expect(hits.length).toBe(requestsBefore);
    expect(lines.at(-1)).toMatch(/already in .* \(24 images\); nothing to do/);
  });

  it('resumes an interrupted download with a Range request', async () => {
    const dir = tempDir();
    const url = `${base}/flaky.tar.gz`;
    const cutOnceSomeArrived = () => {
      flakyResponse?.socket?.destroy();
      flakyResponse = null;
    };
    const first = downloadCifar10({ url, dir, onProgress: cutOnceSomeArrived });
    await expect(first).rejects.toThrow(DataError);
    await expect(first).rejects.toThrow(/Download of .*flaky\.tar\.gz was interrupted after .*; run again to resume/);
    const partial = statSync(join(dir, 'cifar-10-binary.tar.gz.part')).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(ARCHIVE.length);

    const result = await downloadCifar10({ url, dir });
    expect(result.downloaded).toBe(true);
    expect(hits.filter((hit) => hit.path === '/flaky.tar.gz').at(-1)?.range).toBe(`bytes=${partial}-`);
    expect(parseCifar10(new Uint8Array(readFileSync(join(dir, 'test_batch.bin'))), 'test_batch.bin').count).toBe(RECORDS_PER_FILE);
  });

  it('reports an HTTP error with the URL and status', async () => {
    const dir = tempDir();
    await expect(downloadCifar10({ url: `${base}/nope.tar.gz`, dir })).rejects.toThrow(
      `Could not download ${base}/nope.tar.gz: HTTP 404 Not Found`,
    );
    expect(existsSync(join(dir, 'data_batch_1.bin'))).toBe(false);
  });

  it('reports a truncated archive and deletes it so a rerun fetches it again', async () => {
    const dir = tempDir();
    const download = downloadCifar10({ url: `${base}/truncated.tar.gz`, dir });
    await expect(download).rejects.toThrow(DataError);
    await expect(download).rejects.toThrow(
      /cifar-10-binary\.tar\.gz is truncated or corrupt .*\(deleted it; run again to download it afresh\)/,
    );
    expect(existsSync(join(dir, 'cifar-10-binary.tar.gz'))).toBe(false);
    expect(existsSync(join(dir, 'test_batch.bin'))).toBe(false);
  });

  it('replaces a corrupt extracted file on the next run', async () => {
    const dir = tempDir();
    await downloadCifar10({ url: `${base}/cifar-10-binary.tar.gz`, dir });
    writeFileSync(join(dir, 'data_batch_2.bin'), new Uint8Array(100));
    const result = await downloadCifar10({ url: `${base}/cifar-10-binary.tar.gz`, dir });
    expect(result.downloaded).toBe(true);
    expect(statSync(join(dir, 'data_batch_2.bin')).size).toBe(RECORDS_PER_FILE * 3073);
  });

  it('explains a network failure', async () => {
    // A port that was just free: nothing listens there.
    const probe = createServer();
    await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((done) => probe.close(() => done()));
    await expect(downloadCifar10({ url: `http://127.0.0.1:${port}/cifar-10-binary.tar.gz`, dir: tempDir() })).rejects.toThrow(
      /Could not download http:\/\/127\.0\.0\.1:\d+\/cifar-10-binary\.tar\.gz \(fetch failed: ECONNREFUSED\)\. Check the network connection/,
    );
  });
});
