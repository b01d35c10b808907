import { mkdtemp, readFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loseWorkerDevice, recordWorkers } from '../e2e/device';
import { parseArgs } from './cli';
import { runCli } from './run-cli';

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'lottery-cli-'));
}

const tinyConfig = {
  name: 'cli-tiny',
  method: 'imp',
  seed: 3,
  data: { source: 'synthetic', syntheticTrain: 300, syntheticTest: 100, validation: 50 },
  model: { arch: 'lenet-300-100', width: 0.1 },
  train: { optimizer: 'adam', lr: 0.002, batchSize: 25, iterations: 20, evalEvery: 10 },
  prune: { strategy: 'layerwise', rounds: 1 },
};

describe('experiment CLI arguments', () => {
  it('parses every option', () => {
    expect(parseArgs(['c.json', '--out', 'o', '--runtime', 'browser', '--backend', 'wasm', '--data-dir', 'd'])).toEqual({
      configPath: 'c.json',
      out: 'o',
      runtime: 'browser',
      backend: 'wasm',
      dataDir: 'd',
    });
  });

  it('rejects an unknown backend, runtime or option with a one-line reason', async () => {
    expect((await runCli(['c.json', '--backend', 'tpu'])).errors).toMatch(/Unknown backend "tpu"/);
    expect((await runCli(['c.json', '--runtime', 'deno'])).errors).toMatch(/--runtime must be node or browser/);
    expect((await runCli(['c.json', '--frobnicate'])).errors).toMatch(/Unknown option --frobnicate/);
    expect((await runCli([])).code).toBe(1);
  });
});

describe('experiment CLI on bad input', () => {
  it('names a missing config file', async () => {
    const result = await runCli(['/nonexistent/config.json']);
    expect(result.code).toBe(1);
    expect(result.errors).toMatch(/Cannot read config \/nonexistent\/config.json: ENOENT/);
  });

  it('names invalid JSON and invalid fields', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'broken.json'), '{"method": "imp",');
    expect((await runCli([path.join(dir, 'broken.json')])).errors).toMatch(/not valid JSON/);
    await writeFile(path.join(dir, 'bad.json'), JSON.stringify({ ...tinyConfig, method: 'magic' }));
    const bad = await runCli([path.join(dir, 'bad.json')]);
    expect(bad.code).toBe(1);
    expect(bad.errors).toMatch(/^Invalid experiment config: method:/);
    await writeFile(path.join(dir, 'arch.json'), JSON.stringify({ ...tinyConfig, model: { arch: 'resnet-1000' } }));
    expect((await runCli([path.join(dir, 'arch.json')])).errors).toMatch(/model\.arch/);
  });

  it('leaves an earlier results.json in place when the data is missing', async () => {
    const dir = await tempDir();
    const out = path.join(dir, 'out');
    await mkdir(out);
    await writeFile(path.join(out, 'results.json'), '{"earlier": true}');
    const config = { ...tinyConfig, data: { source: 'cifar10', dir: path.join(dir, 'no-data'), train: ['data_batch_1.bin'] } };
    await writeFile(path.join(dir, 'c.json'), JSON.stringify(config));
    const result = await runCli([path.join(dir, 'c.json'), '--out', out]);
    expect(result.code).toBe(1);
    expect(result.errors).toMatch(/data_batch_1\.bin/);
    expect(await readFile(path.join(out, 'results.json'), 'utf8')).toBe('{"earlier": true}');
  });
});

describe('experiment CLI run', () => {
  it('runs IMP in Node, prints one line per evaluation and writes the contract keys', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'c.json'), JSON.stringify(tinyConfig));
    const result = await runCli([path.join(dir, 'c.json'), '--out', dir]);
    expect(result.errors).toBe('');
    expect(result.code).toBe(0);
    // 2 rounds x (eval at 10 + final at 20)
    expect(result.lines.filter((l) => l.startsWith('[ticket round')).length).toBe(4);
    const results = JSON.parse(await readFile(path.join(dir, 'results.json'), 'utf8'));
    for (const key of ['config', 'backend', 'adapter', 'method', 'rounds', 'imagesPerSecond']) expect(results).toHaveProperty(key);
    expect(results.backend).toBe('wasm');
    expect(results.config.train.momentum).toBe(0.9); // defaults filled in
    expect(results.rounds).toHaveLength(2);
    for (const key of ['round', 'sparsity', 'layers', 'testAccuracy', 'earlyStopIteration', 'testAccuracyAtEarlyStop', 'trainSeconds']) {
      expect(results.rounds[1]).toHaveProperty(key);
    }
    expect(results.rounds[0].sparsity).toBe(0);
    expect(results.rounds[1].sparsity).toBeGreaterThan(0.15);
  });
});

const chromium = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe.skipIf(!existsSync(chromium))(`experiment CLI in headless Chromium (${chromium})`, () => {
  it('runs the same engine in the page worker, choosing wasm over the software WebGPU adapter', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'c.json'), JSON.stringify({ ...tinyConfig, prune: { rounds: 0 } }));
    const result = await runCli([path.join(dir, 'c.json'), '--out', dir, '--runtime', 'browser']);
    expect(result.errors).toBe('');
    expect(result.code).toBe(0);
    const results = JSON.parse(await readFile(path.join(dir, 'results.json'), 'utf8'));
    expect(results.backend).toBe('wasm');
    expect(results.adapter).toBe('swiftshader');
    expect(results.backendInfo.adapter.software).toBe(true);
    expect(results.rounds).toHaveLength(1);
  });

  it('reports a lost GPU device in plain words, writes the rounds it finished and exits non-zero', async () => {
    const dir = await tempDir();
    const config = { ...tinyConfig, backend: 'webgpu', prune: { rounds: 3 }, train: { ...tinyConfig.train, iterations: 40 } };
    await writeFile(path.join(dir, 'c.json'), JSON.stringify(config));
    let lost = false;
    const result = await runCli([path.join(dir, 'c.json'), '--out', dir, '--runtime', 'browser'], {
      beforeLoad: recordWorkers,
      // Lost once a round is kept, as a driver reset would.
      onEvent: (event, page) => {
        if (event.type !== 'checkpoint' || lost) return;
        lost = true;
        void loseWorkerDevice(page);
      },
    });
    expect(result.code).toBe(1);
    expect(result.errors).toMatch(/^The GPU stopped responding \(device lost: destroyed\) during round \d\. Rounds? 0(–\d)? (is|are) kept\.$/);
    const kept = Number(/0(?:–(\d))? (?:is|are) kept/.exec(result.errors)![1] ?? 0) + 1;
    const results = JSON.parse(await readFile(path.join(dir, 'results.json'), 'utf8'));
    expect(results.endedEarly).toEqual({ kind: 'device-lost', message: result.errors });
    expect(results.backend).toBe('webgpu');
    expect(results.config.prune.rounds).toBe(3);
    expect(results.rounds.length).toBeGreaterThanOrEqual(kept);
    expect(results.rounds.length).toBeLessThan(4);
    expect(results.rounds.map((r: { round: number }) => r.round)).toEqual([...results.rounds.keys()]);
  });
});
