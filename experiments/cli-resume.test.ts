import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { deserialize } from 'node:v8';
import { describe, expect, it } from 'vitest';
import type { Checkpoint } from '../src/lib/engine/checkpoint';
import type { RunResults } from '../src/lib/engine/results';
import { CHECKPOINT_FILE, ROUNDS_FILE } from './cli';
import { runCli } from './run-cli';

const config = {
  name: 'cli-resume',
  method: 'imp',
  seed: 5,
  data: { source: 'synthetic', syntheticTrain: 300, syntheticTest: 100, validation: 50 },
  model: { arch: 'lenet-300-100', width: 0.1 },
  train: { optimizer: 'adam', lr: 0.002, batchSize: 25, iterations: 300, evalEvery: 100 },
  prune: { strategy: 'layerwise', rounds: 3 },
  controls: ['randomReinit'],
};

/** Runs the CLI as its own process and kills it (SIGKILL, as a crash or a closed terminal) once its first checkpoint is on disk. */
async function runUntilFirstCheckpoint(configFile: string, out: string): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('experiments/cli.ts'), configFile, '--out', out], { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  while (!done && !existsSync(path.join(out, CHECKPOINT_FILE))) await new Promise((resolve) => setTimeout(resolve, 20));
  child.kill('SIGKILL');
  expect(await exited, 'the run was killed before it finished').toBeNull();
}

describe('experiment CLI --resume', () => {
  it('continues a killed run from the checkpoint in its folder and ends with the results of an uninterrupted run', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lottery-cli-resume-'));
    const configFile = path.join(dir, 'c.json');
    await writeFile(configFile, JSON.stringify(config));

    const killed = path.join(dir, 'killed');
    await runUntilFirstCheckpoint(configFile, killed);
    const left = await readdir(killed);
    expect(left).not.toContain('results.json');
    expect(left.filter((name) => name.endsWith('.tmp'))).toEqual([]);
    const checkpoint = deserialize(await readFile(path.join(killed, CHECKPOINT_FILE))) as Checkpoint;
    expect(checkpoint.round).toBeGreaterThanOrEqual(1);
    expect(checkpoint.round).toBeLessThan(3);

    // Another setting cannot continue it: the message names the field.
    await writeFile(path.join(dir, 'other.json'), JSON.stringify({ ...config, seed: 6 }));
    const refused = await runCli([path.join(dir, 'other.json'), '--out', killed, '--resume']);
    expect(refused.errors).toMatch(/^--resume from ".*killed": Cannot resume: the config changed since the checkpoint: seed was 5 in the checkpoint, 6 now$/);
    expect((await runCli([configFile, '--out', path.join(dir, 'empty'), '--resume'])).errors).toMatch(/^--resume: no checkpoint in ".*empty"/);

    const resumed = await runCli([configFile, '--out', killed, '--resume']);
    expect(resumed.errors).toBe('');
    // It trained only the rounds after the checkpoint.
    expect(resumed.lines.filter((l) => l.startsWith('[ticket round 0]'))).toEqual([]);
    expect(resumed.lines.filter((l) => l.startsWith('[ticket round 3]')).length).toBeGreaterThan(0);
    expect(resumed.lines[0]).toMatch(new RegExp(`^resuming from .*${CHECKPOINT_FILE} \\(round ${checkpoint.round}\\)$`));
    const whole = await runCli([configFile, '--out', path.join(dir, 'whole')]);
    expect(whole.errors).toBe('');

    const [after, uninterrupted] = await Promise.all(
      ['killed', 'whole'].map(async (name) => JSON.parse(await readFile(path.join(dir, name, 'results.json'), 'utf8')) as RunResults),
    );
    const measured = (results: RunResults) =>
      [...results.rounds, ...(results.controls?.randomReinit ?? [])].map((r) => [r.round, r.sparsity, r.testAccuracy, r.earlyStopIteration]);
    expect(after.rounds).toHaveLength(4);
    expect(measured(after)).toEqual(measured(uninterrupted));
    // The finished rounds are in the folder too, those from before the kill included.
    const rounds = JSON.parse(await readFile(path.join(killed, ROUNDS_FILE), 'utf8'));
    expect(rounds.rounds.ticket.map((r: { round: number }) => r.round)).toEqual([0, 1, 2, 3]);
  }, 300_000);
});
