/**
 * Reads the official `cifar-10-binary.tar.gz` / `cifar-100-binary.tar.gz`
 * into memory: fflate for the gzip layer, nanotar for the tar layer. Both are
 * plain JS, so this runs the same in Node, a Web Worker and the page.
 */
import { Gunzip } from 'fflate';
import { parseTar, type ParsedTarFileItem } from 'nanotar';
import { CIFAR_ARCHIVES, DataError, type CifarKind } from './cifar';
import { mapFileSource } from './sources';
import type { FileSource } from './types';

/** Input is fed to the decompressor in slices so each output chunk stays modest. */
const GUNZIP_SLICE_BYTES = 4 << 20;

function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Streaming rather than `gunzipSync`: the one-shot call sizes its output from
 * the trailer, which in a truncated download is arbitrary bytes (up to a 4 GiB
 * allocation). Streaming grows the output as it goes and reports the missing
 * end as an error.
 */
function gunzip(bytes: Uint8Array, archiveName: string): Uint8Array {
  if (bytes.length < 18) {
    throw new DataError(`${archiveName} is truncated (${bytes.length} bytes, shorter than a gzip header and trailer); download it again`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const stream = new Gunzip({}, (chunk) => {
    chunks.push(chunk);
    total += chunk.length;
  });
  try {
    for (let start = 0; start < bytes.length; start += GUNZIP_SLICE_BYTES) {
      const end = Math.min(bytes.length, start + GUNZIP_SLICE_BYTES);
      stream.push(bytes.subarray(start, end), end === bytes.length);
    }
  } catch (error) {
    throw new DataError(
      `${archiveName} is truncated or corrupt (${bytes.length} bytes; gzip: ` +
        `${error instanceof Error ? error.message : String(error)}); download it again`,
    );
  }
  // The gzip trailer ends with the uncompressed size mod 2^32: a cheap check
  // that the stream we decoded is the whole one.
  const trailerSize = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 4, 4).getUint32(0, true);
  if (trailerSize !== total % 2 ** 32) {
    throw new DataError(
      `${archiveName} is truncated or corrupt: decompressed ${total} bytes but the gzip trailer says ${trailerSize}; download it again`,
    );
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** `cifar-10-batches-bin/./data_batch_1.bin` and friends → path parts without `.`. */
function memberPath(name: string): string[] {
  return name.split('/').filter((part) => part !== '' && part !== '.');
}

/**
 * All regular files in a (gzipped) tar, keyed by their path. The values are
 * views into one decompressed buffer.
 */
export function readTar(bytes: Uint8Array, archiveName: string): Map<string, Uint8Array> {
  const tar = isGzip(bytes) ? gunzip(bytes, archiveName) : bytes;
  // nanotar reads `data.buffer` and ignores a view's offset, so hand it a
  // view that covers its whole buffer.
  const whole = tar.byteOffset === 0 && tar.byteLength === tar.buffer.byteLength ? tar : tar.slice();
  let items: ParsedTarFileItem[];
  try {
    items = parseTar(whole);
  } catch (error) {
    throw new DataError(
      `${archiveName} is not a readable tar archive (${error instanceof Error ? error.message : String(error)}); download it again`,
    );
  }
  const members = new Map<string, Uint8Array>();
  for (const item of items) {
    if (item.type !== undefined && item.type !== 'file' && item.type !== 'contiguousFile') continue;
    members.set(memberPath(item.name).join('/'), item.data ?? new Uint8Array(0));
  }
  return members;
}

/**
 * The members of an official CIFAR archive that sit in its folder, keyed by
 * base name (`data_batch_1.bin`). Throws a DataError naming the archive and
 * the expected names when any required member is missing.
 */
export function readCifarArchive(bytes: Uint8Array, kind: CifarKind, archiveName: string): Map<string, Uint8Array> {
  const layout = CIFAR_ARCHIVES[kind];
  const all = readTar(bytes, archiveName);
  const members = new Map<string, Uint8Array>();
  for (const [path, data] of all) {
    const parts = memberPath(path);
    if (parts.length === 2 && parts[0] === layout.folder) members.set(parts[1], data);
  }
  const missing = layout.required.filter((name) => !members.has(name));
  if (missing.length > 0) {
    const expected = layout.required.map((name) => `${layout.folder}/${name}`).join(', ');
    const found = all.size === 0 ? 'no files' : [...all.keys()].slice(0, 12).join(', ') + (all.size > 12 ? ', …' : '');
    throw new DataError(
      `${archiveName} is not an official ${layout.fileName}: expected members ${expected}; ` +
        `missing ${missing.join(', ')}; it holds ${found}`,
    );
  }
  return members;
}

/** A FileSource over the members of an archive read with readCifarArchive. */
export function archiveFileSource(members: Map<string, Uint8Array>, archiveName: string): FileSource {
  return mapFileSource(members, archiveName);
}
