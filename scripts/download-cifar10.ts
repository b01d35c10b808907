/**
 * Downloads the official CIFAR-10 binary archive and extracts it into the
 * git-ignored static/data/cifar10/ (data_batch_1..5.bin, test_batch.bin,
 * batches.meta.txt), checking every batch with the engine's own parser.
 *
 *   npm run data:cifar10 [-- --url URL] [-- --dir DIR] [-- --keep-archive]
 *
 * Environment overrides: CIFAR10_URL, CIFAR10_DIR. Safe to rerun: it does
 * nothing when valid files are already there, resumes a partial download
 * (HTTP Range) and replaces a corrupt archive.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readCifarArchive } from '../src/lib/engine/data/archive';
import { CIFAR_ARCHIVES, DataError, parseCifar10 } from '../src/lib/engine/data/cifar';

export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
export const DEFAULT_CIFAR10_DIR = fileURLToPath(new URL('../static/data/cifar10/', import.meta.url));

const LAYOUT = CIFAR_ARCHIVES.cifar10;

export interface DownloadOptions {
  url?: string;
  dir?: string;
  /** Keep the .tar.gz next to the extracted files (it is deleted by default: 163 MB). */
  keepArchive?: boolean;
  log?: (line: string) => void;
  /** Called as bytes arrive; `total` is null when the server sends no length. */
  onProgress?: (received: number, total: number | null) => void;
}

export interface DownloadResult {
  dir: string;
  /** False when valid files were already in place and nothing was fetched. */
  downloaded: boolean;
  /** Images per extracted batch file. */
  records: Record<string, number>;
}

function reason(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici reports "fetch failed" with the real cause (ECONNREFUSED, ENOTFOUND…) one level down.
  const cause = (error as Error & { cause?: unknown }).cause;
  if (cause instanceof Error) return `${error.message}: ${(cause as NodeJS.ErrnoException).code ?? cause.message}`;
  return error.message;
}

/** Images per file when every required batch is present and parses; null otherwise. */
async function verifiedFiles(dir: string): Promise<Record<string, number> | null> {
  const records: Record<string, number> = {};
  for (const name of LAYOUT.required) {
    const path = join(dir, name);
    if (!existsSync(path)) return null;
    try {
      records[name] = parseCifar10(new Uint8Array(await readFile(path)), path).count;
    } catch {
      return null;
    }
  }
  return records;
}

/**
 * Fetches `url` into `partPath`, continuing from what is already there when
 * the server honours a Range request.
 */
async function fetchResumable(url: string, partPath: string, options: DownloadOptions): Promise<void> {
  const log = options.log ?? (() => {});
  let offset = existsSync(partPath) ? (await stat(partPath)).size : 0;
  let response: Response;
  try {
    response = await fetch(url, offset > 0 ? { headers: { Range: `bytes=${offset}-` } } : {});
  } catch (error) {
    throw new DataError(
      `Could not download ${url} (${reason(error)}). Check the network connection, or pass --url (or CIFAR10_URL) ` +
        `to a mirror, or put the extracted .bin files in ${resolve(partPath, '..')} yourself.`,
    );
  }
  if (response.status === 416 && offset > 0) {
    // Nothing past our offset: the earlier run had the whole file.
    await response.body?.cancel();
    return;
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new DataError(`Could not download ${url}: HTTP ${response.status} ${response.statusText}`.trimEnd());
  }
  let total: number | null = null;
  if (response.status === 206) {
    const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(response.headers.get('content-range') ?? '');
    if (!match || Number(match[1]) !== offset) {
      await response.body?.cancel();
      await rm(partPath, { force: true });
      throw new DataError(`${url} answered the resume request with an unexpected range; deleted the partial file, run again`);
    }
    total = match[2] === '*' ? null : Number(match[2]);
    log(`Resuming ${url} at ${(offset / 1e6).toFixed(1)} MB`);
  } else {
    offset = 0; // the server sent the whole file
    const length = response.headers.get('content-length');
    total = length === null ? null : Number(length);
    log(`Downloading ${url}${total ? ` (${(total / 1e6).toFixed(1)} MB)` : ''}`);
  }
  if (!response.body) throw new DataError(`Could not download ${url}: empty response`);

  const file = await open(partPath, offset > 0 ? 'a' : 'w');
  let received = offset;
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      await file.write(chunk);
      received += chunk.length;
      options.onProgress?.(received, total);
    }
  } catch (error) {
    throw new DataError(
      `Download of ${url} was interrupted after ${(received / 1e6).toFixed(1)} MB (${reason(error)}); run again to resume`,
    );
  } finally {
    await file.close();
  }
  if (total !== null && received !== total) {
    throw new DataError(
      `Download of ${url} was interrupted after ${received} of ${total} bytes; run again to resume`,
    );
  }
}

/** Writes through a temporary name so an interrupted run never leaves a half-written batch. */
async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = `${path}.tmp`;
  await writeFile(temporary, bytes);
  await rename(temporary, path);
}

export async function downloadCifar10(options: DownloadOptions = {}): Promise<DownloadResult> {
  const url = options.url ?? CIFAR10_URL;
  const dir = resolve(options.dir ?? DEFAULT_CIFAR10_DIR);
  const log = options.log ?? (() => {});
  await mkdir(dir, { recursive: true });

  const existing = await verifiedFiles(dir);
  if (existing) {
    log(`CIFAR-10 is already in ${dir} (${Object.values(existing).reduce((a, b) => a + b, 0)} images); nothing to do`);
    return { dir, downloaded: false, records: existing };
  }

  const archivePath = join(dir, LAYOUT.fileName);
  const partPath = `${archivePath}.part`;
  if (!existsSync(archivePath)) {
    await fetchResumable(url, partPath, options);
    await rename(partPath, archivePath);
  }

  let members: Map<string, Uint8Array>;
  try {
    members = readCifarArchive(new Uint8Array(await readFile(archivePath)), 'cifar10', archivePath);
  } catch (error) {
    // A bad archive would fail the same way on every rerun: remove it so the next run fetches it again.
    await rm(archivePath, { force: true });
    if (error instanceof DataError) throw new DataError(`${error.message} (deleted it; run again to download it afresh)`);
    throw error;
  }

  const records: Record<string, number> = {};
  for (const name of LAYOUT.required) {
    const bytes = members.get(name)!;
    // Checks record size and labels before anything is written.
    records[name] = parseCifar10(bytes, `${archivePath}: ${LAYOUT.folder}/${name}`).count;
  }
  for (const name of [...LAYOUT.required, ...LAYOUT.optional]) {
    const bytes = members.get(name);
    if (bytes) await writeAtomically(join(dir, name), bytes);
  }
  if (!options.keepArchive) await rm(archivePath, { force: true });
  log(
    `Extracted ${LAYOUT.required.length} batches (${Object.values(records).reduce((a, b) => a + b, 0)} images) into ${dir}`,
  );
  return { dir, downloaded: true, records };
}

function parseArguments(argv: string[]): DownloadOptions | 'help' {
  const options: DownloadOptions = { url: process.env.CIFAR10_URL || undefined, dir: process.env.CIFAR10_DIR || undefined };
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i];
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new DataError(`${argument} needs a value`);
      return next;
    };
    if (argument === '--help' || argument === '-h') return 'help';
    else if (argument === '--url') options.url = value();
    else if (argument.startsWith('--url=')) options.url = argument.slice('--url='.length);
    else if (argument === '--dir') options.dir = value();
    else if (argument.startsWith('--dir=')) options.dir = argument.slice('--dir='.length);
    else if (argument === '--keep-archive') options.keepArchive = true;
    else throw new DataError(`Unknown argument ${argument}; try --help`);
  }
  return options;
}

/** Progress on one rewritten line on a terminal, every 10% otherwise (CI logs). */
function progressPrinter(): (received: number, total: number | null) => void {
  let lastTenth = -1;
  let lastPrint = 0;
  return (received, total) => {
    const now = Date.now();
    const megabytes = (received / 1e6).toFixed(1);
    const text = total ? `${megabytes} / ${(total / 1e6).toFixed(1)} MB (${((100 * received) / total).toFixed(0)}%)` : `${megabytes} MB`;
    if (process.stderr.isTTY) {
      if (now - lastPrint < 200 && received !== total) return;
      lastPrint = now;
      process.stderr.write(`\r  ${text}   ${received === total ? '\n' : ''}`);
    } else {
      const tenth = total ? Math.floor((10 * received) / total) : Math.floor(received / 20e6);
      if (tenth === lastTenth) return;
      lastTenth = tenth;
      process.stderr.write(`  ${text}\n`);
    }
  };
}

async function main(): Promise<void> {
  const options = parseArguments(process.argv.slice(2));
  if (options === 'help') {
    console.log(
      'Usage: npm run data:cifar10 [-- --url URL] [-- --dir DIR] [-- --keep-archive]\n' +
        `Downloads ${CIFAR10_URL}\ninto ${DEFAULT_CIFAR10_DIR} and extracts the batches. ` +
        'Env: CIFAR10_URL, CIFAR10_DIR.',
    );
    return;
  }
  await downloadCifar10({ ...options, log: (line) => console.log(line), onProgress: progressPrinter() });
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((error: unknown) => {
    console.error(error instanceof DataError ? `Error: ${error.message}` : error);
    process.exitCode = 1;
  });
}
