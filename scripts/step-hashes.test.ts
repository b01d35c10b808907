import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(path.join(tmpdir(), 'step-hashes-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs scripts/step-hashes.ts in its own process (our SIMD kernels' thread count is fixed per process); resolves with its lines. */
function stepHashes(name: string, options: string[]): Promise<string[]> {
  const out = path.join(dir, `${name}.txt`);
  const args = ['--import', 'tsx', path.resolve('scripts/step-hashes.ts'), '--out', out, '--arch', 'conv-4', '--width', '0.125', '--batch', '30', '--images', '600', '--iterations', '40', ...options];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(readFileSync(out, 'utf8').trim().split('\n')) : reject(new Error(`step-hashes ${name} exited with ${code}: ${errors}`))));
  });
}

describe('seeded training on wasm', () => {
  it('has the same weights at every step on one thread and on three that share every call', async () => {
    // Two epochs of 20 batches: every kernel on odd-sized shares, and the threads'
    // handshake taken some thousands of times.
    const [one, three] = await Promise.all([stepHashes('one', ['--threads', '1']), stepHashes('three', ['--threads', '3', '--shared-min', '0'])]);
    expect(one).toHaveLength(41);
    const parted = one.findIndex((line, step) => line !== three[step]);
    expect(parted, `the runs part at step ${parted}: ${one[parted]} against ${three[parted]}`).toBe(-1);
    // Two short trainings in their own processes: minutes where other jobs load the cores.
  }, 600_000);
});
