/**
 * Node-only: reads data files from a folder. The one data module that imports
 * Node built-ins; the engine's index does not re-export it, so browser and
 * worker bundles never see `node:fs`. Import it directly from CLI code and tests.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DataError } from './cifar';
import type { FileSource } from './types';

export function nodeFileSource(dir: string): FileSource {
  const root = resolve(dir);
  return {
    describe: root,
    async read(name: string): Promise<Uint8Array> {
      const path = join(root, name);
      let buffer: Buffer;
      try {
        buffer = await readFile(path);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new DataError(`Data file not found: ${path}`);
        throw new DataError(`Could not read ${path}: ${error instanceof Error ? error.message : String(error)}`);
      }
      // A plain Uint8Array view, so nothing downstream depends on Buffer.
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    },
  };
}
