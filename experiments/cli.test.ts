import { mkdtemp, readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { experimentIdentity } from '../src/lib/engine/identity';
import { parseConfig } from '../src/lib/engine/config';
import { autoBackendFor } from '../src/lib/engine/runtime/backend-policy';
import { loseDeviceAtFirstCheckpointOfEveryWorker, recordWorkers } from '../e2e/device';
import { loadConfig, parseArgs, projection, safeFolderName } from './cli';
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
    expect(parseArgs(['c.json', '--out', 'o', '--runtime', 'browser', '--backend', 'wasm', '--data-dir', 'd', '--seed', '4'])).toEqual({
      configPath: 'c.json',
      out: 'o',
      runtime: 'browser',
      backend: 'wasm',
      dataDir: 'd',
      seed: 4,
    });
  });

  it('rejects an unknown backend, runtime or option with a one-line reason', async () => {
    expect((await runCli(['c.json', '--backend', 'tpu'])).errors).toMatch(/Unknown backend "tpu"/);
    expect((await runCli(['c.json', '--runtime', 'deno'])).errors).toMatch(/--runtime must be node or browser/);
    expect((await runCli(['c.json', '--frobnicate'])).errors).toMatch(/Unknown option --frobnicate/);
    expect((await runCli(['c.json', '--seed', '1.5'])).errors).toMatch(/--seed must be a whole number of 0 or more, not "1.5"/);
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

/** Training progress lines a run printed: none means it stopped before training. */
const trained = (lines: string[]) => lines.filter((l) => l.startsWith('[')).length;

describe('experiment CLI on hostile and broken input: refused before training', () => {
  it('keeps the default output folder inside experiments/out whatever the name holds, one folder per experiment', async () => {
    const dir = await tempDir();
    const cwd = path.join(dir, 'a', 'b', 'c');
    await mkdir(cwd, { recursive: true });
    const hostile = { ...tinyConfig, name: `../../../x\u0000${'y'.repeat(100_000)}`, prune: { rounds: 0 } };
    await writeFile(path.join(dir, 'hostile.json'), JSON.stringify(hostile));
    await writeFile(path.join(dir, 'seed-4.json'), JSON.stringify({ ...hostile, seed: 4 }));
    const previous = process.cwd();
    process.chdir(cwd);
    try {
      for (const file of ['hostile.json', 'seed-4.json']) {
        const result = await runCli([path.join(dir, file)]);
        expect(result.errors).toBe('');
      }
    } finally {
      process.chdir(previous);
    }
    const ids = await Promise.all([hostile, { ...hostile, seed: 4 }].map(async (c) => (await experimentIdentity(parseConfig(c))).id));
    const folders = (await readdir(path.join(cwd, 'experiments', 'out'))).sort();
    expect(folders).toEqual([`x-${'y'.repeat(58)}-${ids[0]}`, `x-${'y'.repeat(58)}-${ids[1]}`].sort());
    for (const folder of folders) expect(await readdir(path.join(cwd, 'experiments', 'out', folder))).toContain('results.json');
    // Nothing above the working directory: the name's ../../../x did not escape.
    expect(await readdir(path.join(dir, 'a', 'b'))).toEqual(['c']);
  });

  it('derives folder names of letters, digits, dot, dash and underscore only', () => {
    expect(safeFolderName('../../../x')).toBe('x');
    expect(safeFolderName('..')).toBe('experiment');
    expect(safeFolderName('a\u0000b/c\\d e')).toBe('a-b-c-d-e');
    expect(safeFolderName('z'.repeat(100_000))).toBe('z'.repeat(60));
    expect(safeFolderName('imp-conv-2.quick')).toBe('imp-conv-2.quick');
  });

  it('checks output paths first: a long or NUL name, --out at a file, --save-ticket at a folder', async () => {
    const dir = await tempDir();
    const config = path.join(dir, 'c.json');
    await writeFile(config, JSON.stringify(tinyConfig));
    const long = await runCli([config, '--out', path.join(dir, 'o'.repeat(100_000))]);
    expect(long.errors).toMatch(/^Cannot create output folder ".*"… \(100\d{3} characters\): ENAMETOOLONG/);
    expect(long.errors.length).toBeLessThan(300);
    expect((await runCli([config, '--out', path.join(dir, 'a\u0000b')])).errors).toMatch(/holds a NUL byte/);
    await writeFile(path.join(dir, 'file'), 'x');
    expect((await runCli([config, '--out', path.join(dir, 'file')])).errors).toMatch(/Output folder ".*file" is a file, not a folder/);
    const out = path.join(dir, 'out');
    const ticketDir = path.join(dir, 'tickets');
    await mkdir(ticketDir);
    const toFolder = await runCli([config, '--out', out, '--save-ticket', ticketDir]);
    expect(toFolder.errors).toMatch(/--save-ticket ".*tickets" is a folder; give a file name/);
    for (const result of [long, toFolder]) {
      expect(result.code).toBe(1);
      expect(trained(result.lines)).toBe(0);
    }
    expect(await readdir(out)).toEqual([]);
    expect(await readdir(ticketDir)).toEqual([]);
  });

  it('refuses --ticket with a method that takes none, and Infinity in the config, naming them', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'imp.json'), JSON.stringify(tinyConfig));
    const ticket = await runCli([path.join(dir, 'imp.json'), '--ticket', path.join(dir, 't.safetensors')]);
    expect(ticket.errors).toBe('--ticket: method "imp" does not use a ticket; the methods that take one: retrain, jackpot, ownership');
    await writeFile(path.join(dir, 'lr.json'), JSON.stringify(tinyConfig).replace('"lr":0.002', '"lr":1e999'));
    const lr = await runCli([path.join(dir, 'lr.json'), '--out', dir]);
    expect(lr.errors).toMatch(/^Invalid experiment config: train\.lr: must be a finite number/);
    expect(trained(lr.lines)).toBe(0);
  });

  it('refuses a data file name that leaves the data folder, naming the field', async () => {
    const dir = await tempDir();
    const config = { ...tinyConfig, data: { source: 'cifar10', dir: path.join(dir, 'data'), train: ['../../../../etc/passwd'] } };
    await writeFile(path.join(dir, 'c.json'), JSON.stringify(config));
    const result = await runCli([path.join(dir, 'c.json'), '--out', path.join(dir, 'out')]);
    expect(result.errors).toMatch(/^DataError: data\.train\[0\]: "\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd" is not a file name inside the data folder/);
    expect(trained(result.lines)).toBe(0);
  });

  it('reads a config saved with a UTF-8 byte-order mark, and --seed replaces its seed', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'bom.json'), `\uFEFF${JSON.stringify(tinyConfig)}`);
    expect((await loadConfig(parseArgs([path.join(dir, 'bom.json')]))).name).toBe('cli-tiny');
    expect((await loadConfig(parseArgs([path.join(dir, 'bom.json'), '--seed', '7']))).seed).toBe(7);
  });

  it('projects the whole run from the first measured speed, warning when it runs to many hours', () => {
    const progress = { type: 'progress', series: 'ticket', round: 0, rounds: 1, iteration: 100, iterations: 1e9, fractionDone: 1e-7 } as const;
    expect(projection({ ...progress, imagesPerSecond: 1000, etaSeconds: 90 })).toBe(
      'projected: about 1 min 30 s more for the whole run, at the 1000 img/s measured so far',
    );
    expect(projection({ ...progress, imagesPerSecond: 1000, etaSeconds: 1e8 })).toMatch(
      /^projected: about 1,157 days more for the whole run, at the 1000 img\/s measured so far\. Warning: that is many hours/,
    );
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
    // The projection follows the first evaluation, from the speed measured by then.
    const first = result.lines.findIndex((l) => l.startsWith('[ticket round'));
    expect(result.lines[first + 1]).toMatch(/^projected: about \d+ s more for the whole run, at the \d+ img\/s measured so far$/);
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
  it('runs the same engine in the page worker, on the backend the policy picks for the adapter it found', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'c.json'), JSON.stringify({ ...tinyConfig, prune: { rounds: 0 } }));
    const result = await runCli([path.join(dir, 'c.json'), '--out', dir, '--runtime', 'browser']);
    expect(result.errors).toBe('');
    expect(result.code).toBe(0);
    const results = JSON.parse(await readFile(path.join(dir, 'results.json'), 'utf8'));
    // SwiftShader (software) here gives wasm; a real GPU gives webgpu: the rule, not this machine, is checked.
    expect(results.backend).toBe(autoBackendFor(results.backendInfo.adapter));
    expect(results.adapter).toBe(results.backendInfo.adapter?.architecture || null);
    expect(results.rounds).toHaveLength(1);
  });

  it('reports a lost GPU device in plain words, writes the rounds it finished and exits non-zero', async () => {
    const dir = await tempDir();
    const config = { ...tinyConfig, backend: 'webgpu', prune: { rounds: 3 }, train: { ...tinyConfig.train, iterations: 40 } };
    await writeFile(path.join(dir, 'c.json'), JSON.stringify(config));
    const result = await runCli([path.join(dir, 'c.json'), '--out', dir, '--runtime', 'browser'], {
      // Lost once a round is kept, as a driver reset would: armed in the page before the run, so it
      // comes from the worker's own first checkpoint however fast the GPU trains the rounds after it.
      beforeLoad: async (page) => {
        await recordWorkers(page);
        await loseDeviceAtFirstCheckpointOfEveryWorker(page);
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
