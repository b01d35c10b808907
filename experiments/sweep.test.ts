import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../src/lib/engine/config';
import { experimentIdentity } from '../src/lib/engine/identity';
import type { SweepFile } from '../src/lib/engine/sweep/record';
import { CONFIRM_RUNS_ABOVE } from '../src/lib/engine/sweep/spec';
import { parseSweepArgs, sweepMain } from './sweep';

async function runSweep(argv: string[]): Promise<{ code: number; errors: string; lines: string[] }> {
  const lines: string[] = [];
  const errors: string[] = [];
  const spy = vi.spyOn(console, 'error').mockImplementation((message: string) => errors.push(message));
  try {
    const code = await sweepMain(argv, (line) => lines.push(line));
    return { code, errors: errors.join('\n'), lines };
  } finally {
    spy.mockRestore();
  }
}

const base = {
  method: 'imp',
  data: { source: 'synthetic', syntheticTrain: 300, syntheticTest: 100, validation: 50 },
  model: { arch: 'lenet-300-100', width: 0.1 },
  train: { lr: 0.002, batchSize: 25, iterations: 20, evalEvery: 10 },
  prune: { rounds: 1 },
};
const tinySweep = { name: 'tiny', base, methods: ['dense', 'imp'], axes: [{ path: 'train.lr', values: [0.002, 0.004] }], seeds: [1] };

async function writeSweep(sweep: object): Promise<{ dir: string; file: string; out: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lottery-sweep-'));
  const file = path.join(dir, 'sweep.json');
  await writeFile(file, JSON.stringify(sweep));
  return { dir, file, out: path.join(dir, 'out') };
}

/** Lines the experiments printed while training: none means nothing was run. */
const trainingLines = (lines: string[]) => lines.filter((line) => /\] == ticket round/.test(line));

describe('sweep CLI arguments and bad input', () => {
  it('parses its options and refuses bad ones', () => {
    expect(parseSweepArgs(['s.json', '--out', 'o', '--runtime', 'browser', '--jobs', '3', '--yes'])).toEqual({
      sweepPath: 's.json',
      out: 'o',
      runtime: 'browser',
      jobs: 3,
      yes: true,
    });
    expect(() => parseSweepArgs(['s.json', '--jobs', '0'])).toThrow(/--jobs must be a whole number/);
    expect(() => parseSweepArgs(['s.json', '--runtime', 'deno'])).toThrow(/--runtime must be node or browser/);
  });

  it('names a bad axis path or value before anything runs or is written', async () => {
    const badPath = await writeSweep({ ...tinySweep, axes: [{ path: 'train.rate', values: [1] }] });
    const result = await runSweep([badPath.file, '--out', badPath.out]);
    expect(result.code).toBe(1);
    expect(result.errors).toMatch(/Invalid sweep: axes\[0\]: "train\.rate": train has no field "rate"/);
    expect(existsSync(badPath.out)).toBe(false);
    const badValue = await writeSweep({ ...tinySweep, axes: [{ path: 'train.lr', values: [0.002, 0] }] });
    expect((await runSweep([badValue.file, '--out', badValue.out])).errors).toMatch(/train\.lr = 0 is refused/);
  });

  it(`refuses a sweep of more than ${CONFIRM_RUNS_ABOVE} runs without --yes`, async () => {
    const seeds = Array.from({ length: CONFIRM_RUNS_ABOVE + 1 }, (_, i) => i);
    const big = await writeSweep({ ...tinySweep, methods: ['dense'], axes: [], seeds });
    const result = await runSweep([big.file, '--out', big.out]);
    expect(result.code).toBe(1);
    expect(result.errors).toBe(`This sweep has ${CONFIRM_RUNS_ABOVE + 1} runs, more than ${CONFIRM_RUNS_ABOVE}: add --yes to run them, or sweep fewer values or seeds`);
    expect(existsSync(big.out)).toBe(false);
  });
});

describe('sweep CLI on a tiny sweep', () => {
  it('writes one results.json per run named by its identity and sweep.json, and resumes without redoing finished runs', async () => {
    const { file, out } = await writeSweep(tinySweep);
    const first = await runSweep([file, '--out', out]);
    expect(first.errors).toBe('');
    expect(first.code).toBe(0);
    expect(trainingLines(first.lines).length).toBe(2 + 2 * 2);

    const ids = await Promise.all(
      [
        { ...base, method: 'dense', seed: 1 },
        { ...base, method: 'dense', seed: 1, train: { ...base.train, lr: 0.004 } },
        { ...base, seed: 1 },
        { ...base, seed: 1, train: { ...base.train, lr: 0.004 } },
      ].map(async (config) => (await experimentIdentity(parseConfig(config))).id),
    );
    expect((await readdir(out)).sort()).toEqual([...ids, 'sweep.csv', 'sweep.json'].sort());
    const sweep = JSON.parse(await readFile(path.join(out, 'sweep.json'), 'utf8')) as SweepFile;
    expect(sweep.base).toEqual(base);
    expect(sweep.axes).toEqual([{ path: 'train.lr', values: [0.002, 0.004], methods: ['dense', 'imp'] }]);
    expect(sweep.seeds).toEqual([1]);
    expect(sweep.runs.map((run) => [run.id, run.method, run.values, run.seed, run.results])).toEqual(
      ids.map((id, i) => [id, i < 2 ? 'dense' : 'imp', { 'train.lr': i % 2 ? 0.004 : 0.002 }, 1, `${id}/results.json`]),
    );
    // Each run's metric is its results.json's last-round test accuracy.
    for (const run of sweep.runs) {
      const results = JSON.parse(await readFile(path.join(out, run.results!), 'utf8'));
      expect(run.metric).toBe(results.rounds.at(-1).testAccuracy);
    }
    expect(Object.keys(sweep.summary.rankings)).toEqual(expect.arrayContaining(['default', 'median', 'best']));
    expect(sweep.summary.rankings.default.map((entry) => entry.metric).sort()).toEqual([sweep.runs[0].metric, sweep.runs[2].metric].sort());
    expect(Object.keys(sweep.summary.expectedBest)).toEqual(['dense', 'imp']);
    expect(sweep.summary.pairwise.map((pair) => [pair.a, pair.b])).toEqual([['dense', 'imp']]);
    expect((await readFile(path.join(out, 'sweep.csv'), 'utf8')).split('\r\n')).toHaveLength(1 + 4 + 1);
    expect(first.lines.some((line) => /^P\(dense beats imp\) = \d\.\d\d over random \(config, seed\) pairs; tuned gap/.test(line))).toBe(true);

    // Again: every run is finished, nothing trains, sweep.json is the same.
    const again = await runSweep([file, '--out', out]);
    expect(again.code).toBe(0);
    expect(again.lines[0]).toMatch(/4 runs \(4 distinct\), 4 finished already, 0 to run/);
    expect(trainingLines(again.lines)).toEqual([]);
    expect(JSON.parse(await readFile(path.join(out, 'sweep.json'), 'utf8'))).toEqual(sweep);

    // A run whose results.json is gone (cut off after its last checkpoint) runs again, from its checkpoint, in a child process with --jobs 2.
    await rm(path.join(out, ids[3], 'results.json'));
    const resumed = await runSweep([file, '--out', out, '--jobs', '2']);
    expect(resumed.errors).toBe('');
    expect(resumed.lines[0]).toMatch(/3 finished already, 1 to run/);
    expect(resumed.lines.some((line) => line.includes(`resuming from ${path.join(out, ids[3], 'checkpoint.bin')}`))).toBe(true);
    expect(JSON.parse(await readFile(path.join(out, 'sweep.json'), 'utf8')).runs).toEqual(sweep.runs);
  });
});
