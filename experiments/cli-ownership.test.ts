import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeTicket } from '../src/lib/engine/io/ticket-file';
import { verifyMasks } from '../src/lib/engine/ownership/signature';
import type { RunResults } from '../src/lib/engine/results';
import { runCli } from './run-cli';

// Conv-2 at width 0.5: conv_2's kernel map is 32x32, room for the version-2 code of "lottery-lab".
const tinyImp = {
  name: 'cli-ownership-imp',
  method: 'imp',
  seed: 3,
  data: { source: 'synthetic', syntheticTrain: 200, syntheticTest: 100, validation: 50 },
  model: { arch: 'conv-2', width: 0.5 },
  train: { optimizer: 'adam', lr: 0.002, batchSize: 20, iterations: 4, evalEvery: 2 },
  prune: { strategy: 'layerwise', rate: { conv: 0.5 }, rounds: 1, rewindIteration: 2 },
};
const { prune: _, ...shared } = tinyImp;
const tinyOwnership = {
  ...shared,
  name: 'cli-ownership-sign',
  method: 'ownership',
  ownership: { payload: 'lottery-lab', prune: [0.5], reactivate: [0.05], attackIterations: 1, randomMasks: 2 },
};

describe('experiment CLI: ticket ownership', () => {
  it('signs a ticket, retrains it beside the unsigned one, verifies and attacks it, and saves the signed ticket with its key', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lottery-cli-ownership-'));
    const ticketFile = path.join(dir, 'ticket.safetensors');
    const signedFile = path.join(dir, 'signed.safetensors');
    await writeFile(path.join(dir, 'imp.json'), JSON.stringify(tinyImp));
    expect((await runCli([path.join(dir, 'imp.json'), '--out', path.join(dir, 'imp'), '--save-ticket', ticketFile])).errors).toBe('');
    await writeFile(path.join(dir, 'sign.json'), JSON.stringify(tinyOwnership));
    const run = await runCli([path.join(dir, 'sign.json'), '--out', path.join(dir, 'sign'), '--ticket', ticketFile, '--save-ticket', signedFile]);
    expect(run.errors).toBe('');
    const results = JSON.parse(await readFile(path.join(dir, 'sign', 'results.json'), 'utf8')) as Extract<RunResults, { method: 'ownership' }>;
    const { ownership } = results;
    expect(ownership).toMatchObject({ layer: 'conv_2', version: 2, verify: { decoded: true, text: 'lottery-lab', bitErrorRate: 0 } });
    expect(ownership.sparsityAfter).toBe(ownership.sparsityBefore);
    expect(ownership.falsePositive).toMatchObject({ unsignedDecoded: false, randomDecoded: false, randomMasks: 2 });
    expect(ownership.attacks.map((a) => a.kind)).toEqual(['none', 'prune', 'reactivate', 'fineTuneReprune', 'forge']);
    expect(ownership.attacks[0]).toMatchObject({ bitErrorRate: 0, decoded: true, triggerAccuracy: null });
    expect(ownership.trigger).toBeNull();
    expect(ownership.falsePositive.unsignedTriggerAccuracy).toBeNull();
    expect(ownership.attacks[4].decodedText).toBe('not-the-owner');
    expect(typeof ownership.accuracyUnsigned).toBe('number');
    expect(results.rounds[0].testAccuracy).toBe(ownership.accuracySigned);
    // The unsigned retrain repeats the IMP round the ticket came from.
    const imp = JSON.parse(await readFile(path.join(dir, 'imp', 'results.json'), 'utf8')) as RunResults;
    expect(ownership.accuracyUnsigned).toBe(imp.rounds[1].testAccuracy);

    const signed = decodeTicket(await readFile(signedFile));
    expect(signed.ownership).toMatchObject({ layer: 'conv_2', row: ownership.row, col: ownership.col, version: 2 });
    expect(await verifyMasks(signed.masks, signed.ownership!, 'lottery-lab')).toMatchObject({ decoded: true, bitErrorRate: 0, payloadMatchesKey: true });
  }, 600_000);

  it('with a trigger set, the signed network labels the triggers as given and the unsigned one, trained without them, near chance', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lottery-cli-ownership-'));
    const ticketFile = path.join(dir, 'ticket.safetensors');
    await writeFile(path.join(dir, 'imp.json'), JSON.stringify(tinyImp));
    expect((await runCli([path.join(dir, 'imp.json'), '--out', path.join(dir, 'imp'), '--save-ticket', ticketFile])).errors).toBe('');
    // Long enough to learn 20 triggers (each seen 60 x 5 / 20 = 15 times), with no attack that trains.
    const withTriggers = {
      ...tinyOwnership,
      train: { ...tinyImp.train, iterations: 62, evalEvery: 60 },
      ownership: { payload: 'lottery-lab', prune: [0.3], reactivate: [], attackIterations: 0, randomMasks: 0, triggers: 20, triggersPerBatch: 5 },
    };
    await writeFile(path.join(dir, 'sign.json'), JSON.stringify(withTriggers));
    const run = await runCli([path.join(dir, 'sign.json'), '--out', path.join(dir, 'sign'), '--ticket', ticketFile]);
    expect(run.errors).toBe('');
    const { ownership } = JSON.parse(await readFile(path.join(dir, 'sign', 'results.json'), 'utf8')) as Extract<RunResults, { method: 'ownership' }>;
    expect(ownership.trigger).toEqual({ images: 20, perBatch: 5, chance: 0.1 });
    expect(ownership.verify.triggerAccuracy).toBeGreaterThanOrEqual(0.9);
    expect(ownership.falsePositive.unsignedTriggerAccuracy).toBeLessThanOrEqual(0.3);
    expect(ownership.attacks.map((a) => a.kind)).toEqual(['none', 'prune']);
    expect(ownership.attacks[0].triggerAccuracy).toBe(ownership.verify.triggerAccuracy);
    expect(typeof ownership.attacks[1].triggerAccuracy).toBe('number');
  }, 600_000);

  it('refuses before training a ticket with no conv layer large enough, and a payload too long for the version', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lottery-cli-ownership-'));
    const ticketFile = path.join(dir, 'ticket.safetensors');
    const narrow = { ...tinyImp, model: { arch: 'conv-2', width: 0.25 }, train: { ...tinyImp.train, iterations: 3 } };
    await writeFile(path.join(dir, 'imp.json'), JSON.stringify(narrow));
    expect((await runCli([path.join(dir, 'imp.json'), '--out', path.join(dir, 'imp'), '--save-ticket', ticketFile])).errors).toBe('');
    const { prune: __, ...narrowShared } = narrow;
    await writeFile(path.join(dir, 'sign.json'), JSON.stringify({ ...tinyOwnership, ...narrowShared, method: 'ownership' }));
    const tooSmall = await runCli([path.join(dir, 'sign.json'), '--out', path.join(dir, 'sign'), '--ticket', ticketFile]);
    expect(tooSmall.errors).toMatch(/No conv layer has a kernel map large enough for a version-2 QR code: it needs 25x25 kernels .* conv_2 16x16/);
    expect(tooSmall.lines.join('\n')).not.toMatch(/round 0\]/);
    await writeFile(path.join(dir, 'long.json'), JSON.stringify({ ...tinyOwnership, ...narrowShared, method: 'ownership', ownership: { payload: 'x'.repeat(30), version: 1 } }));
    expect((await runCli([path.join(dir, 'long.json'), '--out', path.join(dir, 'long'), '--ticket', ticketFile])).errors).toMatch(
      /too long for a QR code of version 1 \(21x21 modules\) at error correction H: it needs version 4/,
    );
  }, 600_000);
});
