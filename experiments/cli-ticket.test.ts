import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeTicket } from '../src/lib/engine/io/ticket-file';
import type { RunResults } from '../src/lib/engine/results';
import { parseArgs } from './cli';
import { runCli } from './run-cli';

const tinyImp = {
  name: 'cli-ticket-imp',
  method: 'imp',
  seed: 3,
  backend: 'cpu',
  data: { source: 'synthetic', syntheticTrain: 300, syntheticTest: 100, validation: 50 },
  model: { arch: 'lenet-300-100', width: 0.1 },
  train: { optimizer: 'adam', lr: 0.002, batchSize: 25, iterations: 20, evalEvery: 10 },
  prune: { strategy: 'layerwise', rounds: 1 },
};

describe('experiment CLI tickets', () => {
  it('parses --ticket and --save-ticket, and refuses them with the browser runtime', async () => {
    expect(parseArgs(['c.json', '--ticket', 't.safetensors', '--save-ticket', 'u.safetensors'])).toMatchObject({
      ticket: 't.safetensors',
      saveTicket: 'u.safetensors',
    });
    expect((await runCli(['c.json', '--runtime', 'browser', '--ticket', 't.safetensors'])).errors).toMatch(
      /--ticket, --save-ticket and --resume work with --runtime node only/,
    );
  });

  it('saves an IMP run\'s ticket; retraining it with --ticket repeats the ticket\'s round', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lottery-cli-ticket-'));
    const ticketFile = path.join(dir, 'ticket.safetensors');
    await writeFile(path.join(dir, 'imp.json'), JSON.stringify(tinyImp));
    const drawn = await runCli([path.join(dir, 'imp.json'), '--out', path.join(dir, 'imp'), '--save-ticket', ticketFile]);
    expect(drawn.errors).toBe('');
    expect(drawn.lines.at(-1)).toMatch(/^wrote .*ticket\.safetensors \(\d+\.\d% of weights remaining\)$/);
    expect(decodeTicket(await readFile(ticketFile))).toMatchObject({ arch: 'lenet-300-100', method: 'imp', round: 1 });

    await writeFile(path.join(dir, 'retrain.json'), JSON.stringify({ ...tinyImp, name: 'cli-ticket-retrain', method: 'retrain' }));
    const retrained = await runCli([path.join(dir, 'retrain.json'), '--out', path.join(dir, 'retrain'), '--ticket', ticketFile]);
    expect(retrained.errors).toBe('');
    const imp = JSON.parse(await readFile(path.join(dir, 'imp', 'results.json'), 'utf8')) as RunResults;
    const again = JSON.parse(await readFile(path.join(dir, 'retrain', 'results.json'), 'utf8')) as RunResults;
    expect(again.rounds).toHaveLength(1);
    expect(again.rounds[0].testAccuracy).toBe(imp.rounds[1].testAccuracy);
    expect(again.rounds[0].layers).toEqual(imp.rounds[1].layers);
  }, 120_000);

  it('names a missing or malformed ticket file, and a run with no ticket to save', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lottery-cli-ticket-'));
    const config = path.join(dir, 'retrain.json');
    await writeFile(config, JSON.stringify({ ...tinyImp, method: 'retrain' }));
    expect((await runCli([config, '--ticket', path.join(dir, 'none.safetensors')])).errors).toMatch(/Cannot read ticket .*none\.safetensors: ENOENT/);
    await writeFile(path.join(dir, 'junk.safetensors'), 'junk');
    expect((await runCli([config, '--ticket', path.join(dir, 'junk.safetensors')])).errors).toMatch(
      /Ticket .*junk\.safetensors: Not a valid \.safetensors file: file too short: 4 bytes/,
    );
    await writeFile(path.join(dir, 'dense.json'), JSON.stringify({ ...tinyImp, method: 'dense', train: { ...tinyImp.train, iterations: 2 } }));
    const dense = await runCli([path.join(dir, 'dense.json'), '--out', path.join(dir, 'dense'), '--save-ticket', path.join(dir, 'x.safetensors')]);
    expect(dense.code).toBe(1);
    expect(dense.errors).toMatch(/--save-ticket: the dense run drew no ticket to save/);
  }, 120_000);
});
