/**
 * FileSources for the browser and Web Workers (fetch, dropped files). The Node
 * folder source lives in node-files.ts so that no engine file that a bundle
 * pulls in imports Node built-ins.
 */
import { DataError } from './cifar';
import type { FileSource } from './types';

function joinUrl(prefix: string, name: string): string {
  if (prefix === '') return name;
  return prefix.endsWith('/') ? prefix + name : `${prefix}/${name}`;
}

/** Reads `prefix/name` with fetch: a same-origin folder such as `/data/cifar10` or a full URL. */
export function urlFileSource(prefix: string, fetchImpl: typeof fetch = (...args) => fetch(...args)): FileSource {
  return {
    describe: prefix,
    async read(name: string): Promise<Uint8Array> {
      const url = joinUrl(prefix, name);
      let response: Response;
      try {
        response = await fetchImpl(url);
      } catch (error) {
        throw new DataError(`Could not fetch ${url}: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (!response.ok) {
        throw new DataError(`Could not fetch ${url}: HTTP ${response.status} ${response.statusText}`.trimEnd());
      }
      return new Uint8Array(await response.arrayBuffer());
    },
  };
}

function baseName(path: string): string {
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return slash < 0 ? path : path.slice(slash + 1);
}

/**
 * Files the user dropped or picked, keyed by name. A dropped folder gives
 * keys with paths (`cifar-10-batches-bin/test_batch.bin`), so a name also
 * matches a key by its last path part.
 */
export function mapFileSource(files: Map<string, Uint8Array | Blob>, describe: string): FileSource {
  return {
    describe,
    async read(name: string): Promise<Uint8Array> {
      let entry = files.get(name);
      if (entry === undefined) {
        const wanted = baseName(name);
        for (const [key, value] of files) {
          if (baseName(key) === wanted) {
            entry = value;
            break;
          }
        }
      }
      if (entry === undefined) {
        const available = [...files.keys()];
        throw new DataError(
          `${describe} has no file ${name}; it holds ${available.length ? available.join(', ') : 'no files'}`,
        );
      }
      if (entry instanceof Uint8Array) return entry;
      return new Uint8Array(await entry.arrayBuffer());
    },
  };
}
