import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeTicket } from '../src/lib/engine/io/ticket-file';
import { TINY_EARLYBIRD_CONFIG } from '../src/lib/engine/methods/earlybird/tiny-config';
import { channelLayers } from '../src/lib/engine/models/registry';
import { resultsOf, type RunResults } from '../src/lib/engine/results';
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

  it('saves an EarlyBird run\'s ticket as the slim network it retrained, and retrains that network from the file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lottery-cli-slim-'));
    const ticketFile = path.join(dir, 'slim.safetensors');
    // One epoch of retraining after the ticket (drawn at epoch 2), to keep the test short.
    const earlybird = {
      ...TINY_EARLYBIRD_CONFIG,
      name: 'cli-slim-earlybird',
      method: 'earlybird',
      backend: 'cpu',
      earlybird: { ...TINY_EARLYBIRD_CONFIG.earlybird, retrainEpochs: 1 },
    };
    await writeFile(path.join(dir, 'earlybird.json'), JSON.stringify(earlybird));
    const drawn = await runCli([path.join(dir, 'earlybird.json'), '--out', path.join(dir, 'earlybird'), '--save-ticket', ticketFile]);
    expect(drawn.errors).toBe('');
    const search = resultsOf(JSON.parse(await readFile(path.join(dir, 'earlybird', 'results.json'), 'utf8')) as RunResults, 'earlybird').ticket;
    expect(search.shrunk).toBe(true);
    const ticket = decodeTicket(await readFile(ticketFile));
    // The file holds the network that retrained: its channels are the ones the search kept.
    const scaled = channelLayers('conv-4-bn', TINY_EARLYBIRD_CONFIG.model.width);
    const kept = Object.entries(search.channelsKeptByLayer!).map(([layer, count]) => [layer, Math.max(1, count)] as const);
    expect(kept.some(([layer, count]) => count !== scaled.get(layer))).toBe(true);
    expect(ticket.channels).toEqual(Object.fromEntries(kept.filter(([layer, count]) => count !== scaled.get(layer))));
    expect(ticket.weights['conv_1/kernel'].shape).toEqual([3, 3, 3, Math.max(1, search.channelsKeptByLayer!.conv_1)]);
    expect(drawn.lines.at(-1)).toMatch(/of weights remaining in the slim network with channels \{/);

    // Only evaluated, the slim ticket is the pruned network: the accuracy EarlyBird measured at pruning.
    const retrain = { ...TINY_EARLYBIRD_CONFIG, name: 'cli-slim-retrain', method: 'retrain', backend: 'cpu' };
    await writeFile(path.join(dir, 'evaluate.json'), JSON.stringify({ ...retrain, retrain: { evaluateOnly: true } }));
    const evaluated = await runCli([path.join(dir, 'evaluate.json'), '--out', path.join(dir, 'evaluate'), '--ticket', ticketFile]);
    expect(evaluated.errors).toBe('');
    expect(evaluated.lines[0]).toBe(`--ticket: a slim ticket; model.channels ${JSON.stringify(ticket.channels)} from it`);
    const measured = JSON.parse(await readFile(path.join(dir, 'evaluate', 'results.json'), 'utf8')) as RunResults;
    expect(measured.config.model.channels).toEqual(ticket.channels);
    expect(measured.rounds[0].testAccuracy).toBe(search.accuracyAtPruning);

    // Retrained, it trains the slim network for the rest of the schedule (here one epoch).
    await writeFile(path.join(dir, 'retrain.json'), JSON.stringify({ ...retrain, train: { ...retrain.train, epochs: 3 } }));
    const retrained = await runCli([path.join(dir, 'retrain.json'), '--out', path.join(dir, 'retrain'), '--ticket', ticketFile]);
    expect(retrained.errors).toBe('');
    const trained = JSON.parse(await readFile(path.join(dir, 'retrain', 'results.json'), 'utf8')) as RunResults;
    expect(trained.rounds).toHaveLength(1);
    expect(trained.rounds[0].iterations).toBeGreaterThan(0);
    const conv1 = trained.rounds[0].layers.find((l) => l.name === 'conv_1')!;
    expect(conv1.weights).toBe(3 * 3 * 3 * Math.max(1, search.channelsKeptByLayer!.conv_1));

    // A config naming other channel counts builds another network: refused, naming both.
    await writeFile(path.join(dir, 'other.json'), JSON.stringify({ ...retrain, model: { ...retrain.model, channels: { conv_1: 1 } } }));
    const other = await runCli([path.join(dir, 'other.json'), '--out', path.join(dir, 'other'), '--ticket', ticketFile]);
    expect(other.code).toBe(1);
    expect(other.errors).toContain(
      `The ticket is for conv-4-bn at width 0.125 with channels ${JSON.stringify(ticket.channels)}, the config builds conv-4-bn at width 0.125 with channels {"conv_1":1}`,
    );
  }, 900_000);

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

  it('saves a SuperTickets run\'s ticket as its searched supernet; --ticket rebuilds it, on the classes it was drawn on, and retrains it', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lottery-cli-supernet-'));
    const ticketFile = path.join(dir, 'supernet.safetensors');
    const supertickets = {
      name: 'cli-supertickets',
      method: 'supertickets',
      seed: 2,
      backend: 'wasm',
      data: { source: 'synthetic', syntheticTrain: 80, syntheticTest: 40, validation: 0, classes: [2, 5, 7] },
      model: { arch: 'conv-4-bn', width: 0.125, branches: [3, 5] },
      train: { optimizer: 'adam', lr: 0.03, batchSize: 20, iterations: 8, evalEvery: 100 },
      supertickets: { events: 2, increment: 0.45, rho: 0.05, channelThreshold: 0.8, compareTwoStage: false, compareMonotone: false, compareRandomMask: false, compareImp: false },
    };
    await writeFile(path.join(dir, 'supertickets.json'), JSON.stringify(supertickets));
    const drawn = await runCli([path.join(dir, 'supertickets.json'), '--out', path.join(dir, 'supertickets'), '--save-ticket', ticketFile]);
    expect(drawn.errors).toBe('');
    expect(drawn.lines.at(-1)).toMatch(/of weights remaining in the searched supernet with branches \[3,5\] and channels \{/);
    const ticket = decodeTicket(await readFile(ticketFile));
    expect(ticket).toMatchObject({ method: 'supertickets', branches: [3, 5], classes: [2, 5, 7], numClasses: 3 });

    // A config naming no branches, channels or classes takes the ticket's.
    const retrain = { ...supertickets, name: 'cli-supernet-retrain', method: 'retrain', model: { arch: 'conv-4-bn', width: 0.125 }, data: { ...supertickets.data, classes: undefined } };
    await writeFile(path.join(dir, 'retrain.json'), JSON.stringify(retrain));
    const retrained = await runCli([path.join(dir, 'retrain.json'), '--out', path.join(dir, 'retrain'), '--ticket', ticketFile]);
    expect(retrained.errors).toBe('');
    expect(retrained.lines[0]).toBe(`--ticket: a supernet ticket; model.branches [3,5] and model.channels ${JSON.stringify(ticket.channels)} from it`);
    expect(retrained.lines[1]).toBe('--ticket: drawn on classes [2,5,7]; data.classes from it');
    const trained = JSON.parse(await readFile(path.join(dir, 'retrain', 'results.json'), 'utf8')) as RunResults;
    expect(trained.config.model).toMatchObject({ branches: [3, 5], channels: ticket.channels });
    expect(trained.rounds[0].iterations).toBe(8);
    expect(trained.rounds[0].sparsity).toBeCloseTo(ticket.sparsity, 6);
  }, 120_000);
});
