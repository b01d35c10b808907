import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Ticket } from '../../checkpoint';
import { parseConfig } from '../../config';
import { decodeSafetensors, encodeSafetensors } from '../../io/safetensors';
import { loadMasks, restoreModel, saveMasks, saveModel } from '../../io/saved';
import { checkTicketFits, decodeTicket, encodeTicket, ticketModel } from '../../io/ticket-file';
import { MaskSet, applyMasks, maskTensors } from '../../masks/mask';
import { Model } from '../../models/model';
import { createModel } from '../../models/registry';
import { shrinkModel } from '../../models/shrink';
import { maxDifference, seededBatch } from '../../models/test-fixtures';
import { Rng } from '../../rng';
import { initBackend } from '../../runtime/backend';
import { channelCounts } from './index';
import { reorderAxis, supernetTicket } from './ticket';

beforeAll(async () => {
  await initBackend('wasm');
});

const STAGES = ['conv_1', 'conv_2', 'conv_3', 'conv_4'];

/** A searched supernet: random BN values, random branch channels cut out (positions left scattered), a random half-density mask. */
async function searchedSupernet(kernels: number[], seed: number): Promise<{ model: Model; masks: MaskSet }> {
  const rng = new Rng(seed);
  const model = createModel('conv-4-bn', 0.125, 10, seed, undefined, kernels);
  for (const [name, variable] of [...model.params, ...model.buffers]) {
    if (!name.includes('/bn_')) continue;
    const values = Float32Array.from({ length: variable.size }, () => (name.endsWith('variance') ? 0.5 + rng.next() : rng.normal()));
    variable.assign(tf.tensor(values, variable.shape));
  }
  const channelKeep = new Map<string, Uint8Array>();
  for (const bn of model.batchNorms) channelKeep.set(bn.name, Uint8Array.from({ length: bn.channels }, (_, c) => (c === 0 || rng.next() < 0.6 ? 1 : 0)));
  const dense = MaskSet.dense(model.prunable);
  for (const mask of dense.layers.values()) for (let i = 0; i < mask.keep.length; i++) mask.keep[i] = rng.next() < 0.5 ? 1 : 0;
  const shrunk = await shrinkModel({ model, channelKeep, masks: dense });
  model.dispose();
  return { model: shrunk.model, masks: shrunk.masks! };
}

function masked(model: Model, masks: MaskSet): void {
  const tensors = maskTensors(masks);
  applyMasks(model, tensors);
  tf.dispose([...tensors.values()]);
}

async function ticketOf(model: Model, masks: MaskSet, kernels: number[]): Promise<Ticket> {
  const config = parseConfig({ method: 'supertickets', model: { arch: 'conv-4-bn', width: 0.125, branches: kernels } });
  const searched = { layers: model.layers, inputShape: model.inputShape, numClasses: 10, channels: channelCounts(model, STAGES, kernels), weights: await saveModel(model), masks: saveMasks(masks) };
  return supernetTicket(config, searched, masks.sparsity());
}

/** The model a ticket file builds (what the page's import and `--ticket` configure). */
function rebuiltModel(ticket: Ticket): Model {
  const model = ticketModel(ticket);
  return createModel(model.arch, model.width, ticket.numClasses, 0, model.channels, model.branches);
}

describe('reorderAxis', () => {
  it('moves whole slices along one axis', () => {
    const values = Float32Array.from({ length: 12 }, (_, i) => i); // [2, 3, 2]
    expect([...reorderAxis(values, [2, 3, 2], 1, [2, 0, 1])]).toEqual([4, 5, 0, 1, 2, 3, 10, 11, 6, 7, 8, 9]);
  });
});

describe('the SuperTickets ticket file', () => {
  it('round trip: a searched supernet, exported and imported, rebuilds its branches and channels and gives the same logits', async () => {
    const { model, masks } = await searchedSupernet([3, 5], 4);
    const ticket = await ticketOf(model, masks, [3, 5]);
    const imported = decodeTicket(encodeTicket(ticket));
    expect(imported.branches).toEqual([3, 5]);
    expect(imported.channels).toEqual(ticket.channels);
    expect(imported.method).toBe('supertickets');
    const rebuilt = rebuiltModel(imported);
    checkTicketFits(imported, rebuilt);
    restoreModel(rebuilt, imported.weights, 'The ticket');
    masked(rebuilt, loadMasks(imported.masks));
    masked(model, masks);
    const { x, y } = seededBatch(6, 32, 9);
    const searchedLogits = model.forward(x, false);
    const rebuiltLogits = rebuilt.forward(x, false);
    expect(maxDifference(searchedLogits, rebuiltLogits)).toBeLessThan(1e-4);
    // The search left a layout the counts do not give as it is: the weights had to be reordered.
    const unordered = rebuiltModel(imported);
    restoreModel(unordered, await saveModel(model), 'The searched network');
    const unorderedLogits = unordered.forward(x, false);
    expect(maxDifference(searchedLogits, unorderedLogits)).toBeGreaterThan(1e-2);
    tf.dispose([x, y, searchedLogits, rebuiltLogits, unorderedLogits]);
    for (const m of [model, rebuilt, unordered]) m.dispose();
  });

  it('refuses a three-branch layout that channel counts cannot rebuild, naming the stage', async () => {
    // Seed 1 scatters the branches so that some stage channel is added by k1 and k5 but not k3.
    const { model, masks } = await searchedSupernet([1, 3, 5], 1);
    await expect(ticketOf(model, masks, [1, 3, 5])).rejects.toThrow(/conv_\d: the searched layout of its branches cannot be rebuilt from channel counts/);
    model.dispose();
  });

  describe('refuses tampered metadata with a specific message', () => {
    let bytes: Uint8Array;
    beforeAll(async () => {
      const { model, masks } = await searchedSupernet([3, 5], 4);
      bytes = encodeTicket(await ticketOf(model, masks, [3, 5]));
      model.dispose();
    });
    const tampered = (change: (metadata: Record<string, string>) => void): Uint8Array => {
      const { metadata, tensors } = decodeSafetensors(bytes);
      change(metadata);
      return encodeSafetensors(tensors, metadata);
    };
    const channels = (edit: (c: Record<string, unknown>) => void) =>
      tampered((m) => {
        const c = JSON.parse(m.channels) as Record<string, unknown>;
        edit(c);
        m.channels = JSON.stringify(c);
      });

    it.each([
      ['an even kernel size', () => tampered((m) => (m.branches = '[3,4]')), 'Ticket metadata "branches": kernel size 4 is not odd'],
      ['a kernel size given as text', () => tampered((m) => (m.branches = '[3,"5"]')), 'Ticket metadata "branches" must be a JSON list of odd kernel sizes'],
      ['branches that are no list', () => tampered((m) => (m.branches = '{"k":3}')), 'Ticket metadata "branches" must be a JSON list of odd kernel sizes'],
      ['a negative branch count', () => channels((c) => (c.conv_2_k5 = -1)), 'Ticket metadata "channels": conv_2_k5: must be a whole number of output channels from 0 to'],
      ['a fractional branch count', () => channels((c) => (c.conv_1_k3 = 2.5)), 'Ticket metadata "channels": conv_1_k3: must be a whole number of output channels from 0 to'],
      ['a count above the supernet’s width', () => channels((c) => Object.assign(c, { conv_1: 9, conv_1_k3: 9 })), 'Ticket metadata "channels": conv_1: 9 channels, more than the supernet has at width 0.125 (8)'],
      ['a branch that is not the supernet’s', () => channels((c) => (c.conv_1_k7 = 2)), 'Ticket metadata "channels": conv_1_k7: conv-4-bn has no conv layer "conv_1_k7"'],
      ['a prototype key', () => tampered((m) => (m.channels = m.channels.replace('{', '{"__proto__":1,'))), 'Ticket metadata "channels": __proto__: conv-4-bn has no conv layer "__proto__"'],
      ['branch counts without branches', () => tampered((m) => delete m.branches), 'has no conv layer "conv_1_k3"'],
      ['classes that are not one per output', () => tampered((m) => (m.classes = '[0,1,2]')), 'Ticket metadata "classes" must be a JSON list of 10 distinct class numbers'],
      ['a class listed twice', () => tampered((m) => (m.classes = '[0,1,2,3,4,5,6,7,8,8]')), 'Ticket metadata "classes" must be a JSON list of 10 distinct class numbers'],
    ])('%s', (_what, file, message) => {
      expect(() => decodeTicket(file())).toThrow(message);
    });
  });
});
