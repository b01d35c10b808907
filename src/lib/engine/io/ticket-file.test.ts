import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ticket } from '../checkpoint';
import { parseConfig } from '../config';
import { MaskSet } from '../masks/mask';
import { createModel } from '../models/registry';
import { shrinkModel } from '../models/shrink';
import { initBackend } from '../runtime/backend';
import { decodeSafetensors, encodeSafetensors } from './safetensors';
import { createTicket, saveModel } from './saved';
import { checkTicketFits, decodeTicket, encodeTicket, ticketModel, ticketNetworkMismatch } from './ticket-file';

let ticket: Ticket;

beforeAll(async () => {
  await initBackend('cpu');
  const before = tf.memory().numTensors;
  const config = parseConfig({ method: 'imp', model: { arch: 'conv-2', width: 0.0625 } });
  const model = createModel('conv-2', 0.0625, 10, 5);
  try {
    // Every third weight of conv_1 pruned, the other layers dense.
    const masks = MaskSet.dense(model.prunable);
    masks.get('conv_1').keep.forEach((_, i, keep) => (keep[i] = i % 3 === 0 ? 0 : 1));
    ticket = createTicket(config, model, { round: 2, masks, weights: await saveModel(model), iteration: 4 });
  } finally {
    model.dispose();
  }
  expect(tf.memory().numTensors).toBe(before);
});

/** The ticket's file with its safetensors entries changed by `edit`. */
function edited(edit: (file: ReturnType<typeof decodeSafetensors>) => void): Uint8Array {
  const file = decodeSafetensors(encodeTicket(ticket));
  edit(file);
  return encodeSafetensors(file.tensors, file.metadata);
}

describe('ticket files', () => {
  it('round-trip every mask, weight and metadata field', () => {
    const bytes = encodeTicket(ticket);
    expect(decodeTicket(bytes)).toEqual(ticket);
    const { tensors, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({
      format: 'lottery-lab-ticket',
      version: '1',
      arch: 'conv-2',
      width: '0.0625',
      numClasses: '10',
      method: 'imp',
      round: '2',
      sparsity: String(ticket.sparsity),
      iteration: '4',
    });
    expect(tensors['mask/conv_1']).toMatchObject({ dtype: 'U8', shape: [3, 3, 3, 4] });
    expect(tensors['weight/conv_1/kernel']).toMatchObject({ dtype: 'F32', shape: [3, 3, 3, 4] });
    expect(tensors['weight/dense_3/bias']).toMatchObject({ dtype: 'F32', shape: [10] });
    expect(Object.keys(tensors).filter((n) => n.startsWith('mask/'))).toEqual(['mask/conv_1', 'mask/conv_2', 'mask/dense_1', 'mask/dense_2', 'mask/dense_3']);
  });

  it('carry optional scores (edge-popup) as score/<layer>, round-tripped exactly', () => {
    const scores = { conv_1: { shape: [3, 3, 3, 4], data: Float32Array.from({ length: 108 }, (_, i) => i / 7 - 3) } };
    const withScores: Ticket = { ...ticket, scores };
    const bytes = encodeTicket(withScores);
    expect(decodeSafetensors(bytes).tensors['score/conv_1']).toMatchObject({ dtype: 'F32', shape: [3, 3, 3, 4] });
    expect(decodeTicket(bytes)).toEqual(withScores);
    expect('scores' in decodeTicket(encodeTicket(ticket))).toBe(false);
  });

  const withScore = (data: Float32Array, shape: number[]) =>
    edited((f) => (f.tensors['score/conv_2'] = { dtype: 'F32', shape, data }));

  const broken: [string, () => Uint8Array, RegExp][] = [
    ['a score of a layer the arch lacks', () => edited((f) => (f.tensors['score/__proto__'] = { dtype: 'F32', shape: [1], data: new Float32Array(1) })), /"score\/__proto__": "__proto__" is not a prunable layer of conv-2/],
    ['a score that is not finite', () => withScore(Float32Array.from({ length: 144 }, (_, i) => (i === 9 ? NaN : 0)), [3, 3, 4, 4]), /"score\/conv_2" holds NaN at index 9/],
    ['scores shaped unlike the mask', () => withScore(new Float32Array(144), [144]), /"score\/conv_2" has shape \[144\], its mask \[3, 3, 4, 4\]/],
    ['a file that is not safetensors', () => new Uint8Array(3), /Not a valid \.safetensors file: file too short/],
    ['safetensors that is not a ticket', () => encodeSafetensors({}, { format: 'pytorch' }), /Not a Lottery Lab ticket: metadata "format" is "pytorch"/],
    ['an unknown arch', () => edited((f) => (f.metadata.arch = 'resnet-50')), /metadata "arch" is "resnet-50", expected one of lenet-300-100/],
    ['a missing metadata number', () => edited((f) => delete f.metadata.round), /metadata "round" must be a number in range, got null/],
    ['a mask that is not 0/1', () => edited((f) => (f.tensors['mask/conv_2'].data[5] = 2)), /"mask\/conv_2" holds 2 at index 5/],
    [
      'a float mask',
      () => edited((f) => (f.tensors['mask/conv_2'] = { ...f.tensors['mask/conv_2'], dtype: 'F32', data: new Float32Array(f.tensors['mask/conv_2'].data) })),
      /"mask\/conv_2" must be U8, not F32/,
    ],
    ['an unknown tensor name', () => edited((f) => (f.tensors['optimizer/step'] = { dtype: 'U8', shape: [1], data: Uint8Array.from([1]) })), /Unexpected tensor "optimizer\/step"/],
    [
      'a mask named __proto__',
      () => edited((f) => (f.tensors['mask/__proto__'] = f.tensors['mask/conv_1'])),
      /Ticket tensor "mask\/__proto__": "__proto__" is not a prunable layer of conv-2 \(conv_1, conv_2, dense_1, dense_2, dense_3\)/,
    ],
    [
      'a weight named __proto__',
      () => edited((f) => (f.tensors['weight/__proto__'] = f.tensors['weight/conv_1/bias'])),
      /Ticket tensor "weight\/__proto__": "__proto__" is not a variable of a layer of conv-2/,
    ],
    ['a mask of a layer the network lacks', () => edited((f) => (f.tensors['mask/conv_9'] = f.tensors['mask/conv_1'])), /"conv_9" is not a prunable layer of conv-2/],
    ['a weight holding NaN', () => edited((f) => (f.tensors['weight/dense_1/kernel'].data[7] = NaN)), /Ticket tensor "weight\/dense_1\/kernel" holds NaN at index 7: weights must be finite/],
    ['a weight holding Infinity', () => edited((f) => (f.tensors['weight/conv_2/bias'].data[0] = -Infinity)), /"weight\/conv_2\/bias" holds -Infinity at index 0/],
    ['a missing mask', () => edited((f) => delete f.tensors['mask/dense_2']), /Ticket has no tensor "mask\/dense_2": a ticket holds a mask for every prunable layer of conv-2/],
  ];
  for (const [what, bytes, message] of broken) {
    it(`rejects ${what}`, () => expect(() => decodeTicket(bytes())).toThrow(message));
  }

  it('checkTicketFits names the first tensor that does not fit', () => {
    const wider = createModel('conv-2', 0.125, 10, 1);
    const fewerClasses = createModel('conv-2', 0.0625, 5, 1);
    const same = createModel('conv-2', 0.0625, 10, 1);
    try {
      expect(() => checkTicketFits(ticket, same)).not.toThrow();
      expect(() => checkTicketFits(ticket, wider)).toThrow(/weight "conv_1\/kernel" has shape \[3, 3, 3, 4\], the model needs \[3, 3, 3, 8\]/);
      expect(() => checkTicketFits(ticket, fewerClasses)).toThrow(/it has 10 classes, the model 5/);
      const { 'conv_2/bias': _dropped, ...withoutBias } = ticket.weights;
      expect(() => checkTicketFits({ ...ticket, weights: withoutBias }, same)).toThrow(/weight "conv_2\/bias" is missing/);
      const extraMask = { ...ticket.masks, conv_9: { shape: [1], keep: Uint8Array.from([1]) } };
      expect(() => checkTicketFits({ ...ticket, masks: extraMask }, same)).toThrow(/mask "conv_9" is not a prunable layer/);
      const { conv_2: _unmasked, ...missingMask } = ticket.masks;
      expect(() => checkTicketFits({ ...ticket, masks: missingMask }, same)).toThrow(/layer "conv_2" has no mask/);
    } finally {
      [wider, fewerClasses, same].forEach((m) => m.dispose());
    }
  });
});

describe('slim tickets (channels cut out)', () => {
  let slim: Ticket;

  beforeAll(async () => {
    const config = parseConfig({ method: 'earlybird', model: { arch: 'conv-4-bn', width: 0.125 } });
    const full = createModel('conv-4-bn', 0.125, 10, 3);
    // Cut channels out of conv_1 (8 -> 5) and conv_4 (16 -> 9).
    const keep = (width: number, kept: number) => Uint8Array.from({ length: width }, (_, i) => (i < kept ? 1 : 0));
    const channelKeep = new Map([
      ['conv_1', keep(8, 5)],
      ['conv_4', keep(16, 9)],
    ]);
    const { model } = await shrinkModel({ model: full, channelKeep });
    full.dispose();
    try {
      slim = createTicket(config, model, { round: 1, masks: MaskSet.dense(model.prunable), weights: await saveModel(model), iteration: 12 });
    } finally {
      model.dispose();
    }
  });

  it('carry the kept channel counts, as JSON metadata, and round-trip', () => {
    expect(slim.channels).toEqual({ conv_1: 5, conv_4: 9 });
    const bytes = encodeTicket(slim);
    const { metadata, tensors } = decodeSafetensors(bytes);
    expect(metadata.channels).toBe('{"conv_1":5,"conv_4":9}');
    expect(tensors['weight/conv_1/kernel'].shape).toEqual([3, 3, 3, 5]);
    expect(tensors['mask/conv_2'].shape).toEqual([3, 3, 5, 8]);
    expect(tensors['mask/dense_1'].shape).toEqual([4 * 4 * 9 * 2 * 2, 32]);
    const decoded = decodeTicket(bytes);
    expect(decoded).toEqual(slim);
    expect(Object.getPrototypeOf(decoded.channels)).toBeNull();
    // A ticket of a network of the width's own shape names no channels.
    expect('channels' in decodeTicket(encodeTicket(ticket))).toBe(false);
  });

  it('fit the slim network the channels build, not the one the width builds', () => {
    const fits = createModel('conv-4-bn', 0.125, 10, 1, slim.channels);
    const wide = createModel('conv-4-bn', 0.125, 10, 1);
    try {
      expect(() => checkTicketFits(slim, fits)).not.toThrow();
      expect(() => checkTicketFits(slim, wide)).toThrow(/weight "conv_1\/kernel" has shape \[3, 3, 3, 5\], the model needs \[3, 3, 3, 8\]/);
    } finally {
      fits.dispose();
      wide.dispose();
    }
    expect(ticketNetworkMismatch(slim, ticketModel(slim))).toBeNull();
    expect(ticketNetworkMismatch(slim, { arch: 'conv-4-bn', width: 0.125 })).toBe(
      'The ticket is for conv-4-bn at width 0.125 with channels {"conv_1":5,"conv_4":9}, the config builds conv-4-bn at width 0.125',
    );
  });

  const withChannels = (text: string) => {
    const file = decodeSafetensors(encodeTicket(slim));
    file.metadata.channels = text;
    return encodeSafetensors(file.tensors, file.metadata);
  };
  const bad: [string, string, RegExp][] = [
    ['text that is not JSON', '{conv_1: 5}', /^Ticket metadata "channels" must be JSON of conv layer names to channel counts, such as \{"conv_1":9\}, got "\{conv_1: 5\}"$/],
    ['a list', '[5, 9]', /^Ticket metadata "channels" must be a non-empty object of conv layer names to channel counts, such as \{"conv_1":9\}, got \[5, 9\]$/],
    ['an empty object', '{}', /Ticket metadata "channels" must be a non-empty object/],
    ['a layer the arch lacks', '{"conv_7":5}', /^Ticket metadata "channels": conv_7: conv-4-bn has no conv layer "conv_7" \(its conv layers: conv_1, conv_2, conv_3, conv_4\)$/],
    ['a dense layer', '{"dense_1":5}', /Ticket metadata "channels": dense_1: conv-4-bn has no conv layer "dense_1"/],
    ['a key named __proto__', '{"__proto__":5}', /Ticket metadata "channels": __proto__: conv-4-bn has no conv layer "__proto__"/],
    ['no channel', '{"conv_1":0}', /Ticket metadata "channels": conv_1: must be a whole number of output channels from 1 to 256 \(what width 4 gives it\), got 0/],
    ['a fraction of a channel', '{"conv_1":2.5}', /Ticket metadata "channels": conv_1: must be a whole number .* got 2\.5/],
    ['a count as text', '{"conv_1":"5"}', /Ticket metadata "channels": conv_1: must be a whole number .* got "5"/],
  ];
  for (const [what, text, message] of bad) {
    it(`refuse channels metadata holding ${what}`, () => expect(() => decodeTicket(withChannels(text))).toThrow(message));
  }
});

describe('reading a ticket from Python', () => {
  const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;
  const hasSafetensors = hasNumpy && spawnSync('python3', ['-c', 'import safetensors.numpy'], { encoding: 'utf8' }).status === 0;
  const dir = mkdtempSync(path.join(tmpdir(), 'ticket-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function runPython(script: string, file: string): { metadata: Record<string, string>; tensors: Record<string, { shape: number[]; sum: number; first: number }> } {
    const result = spawnSync('python3', ['-c', script, file], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    return JSON.parse(result.stdout);
  }

  function expectSameAsTicket(read: ReturnType<typeof runPython>): void {
    expect(read.metadata.arch).toBe('conv-2');
    expect(read.tensors['weight/conv_1/kernel'].shape).toEqual([3, 3, 3, 4]);
    const kernel = ticket.weights['conv_1/kernel'].data;
    expect(read.tensors['weight/conv_1/kernel'].first).toBe(kernel[0]);
    expect(read.tensors['weight/conv_1/kernel'].sum).toBeCloseTo(kernel.reduce((a, b) => a + b, 0), 4);
    expect(read.tensors['mask/conv_1'].sum).toBe(ticket.masks.conv_1.keep.reduce((a, b) => a + b, 0));
    expect(Object.keys(read.tensors).sort()).toEqual(
      [...Object.keys(ticket.masks).map((n) => `mask/${n}`), ...Object.keys(ticket.weights).map((n) => `weight/${n}`)].sort(),
    );
  }

  const summarise = `
summary = {name: {"shape": list(a.shape), "sum": float(a.astype(np.float64).sum()), "first": float(a.flat[0])} for name, a in tensors.items()}
print(json.dumps({"metadata": metadata, "tensors": summary}))
`;

  it.skipIf(!hasNumpy)('with NumPy alone (struct + json + np.frombuffer), as docs/tickets.md shows', () => {
    const file = path.join(dir, 'ticket.safetensors');
    writeFileSync(file, encodeTicket(ticket));
    const script = `
import json, struct, sys
import numpy as np
raw = open(sys.argv[1], "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n])
metadata = header.pop("__metadata__", {})
data = raw[8 + n:]
dtypes = {"F32": "<f4", "U8": "u1"}
tensors = {}
for name, info in header.items():
    begin, end = info["data_offsets"]
    tensors[name] = np.frombuffer(data[begin:end], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
# PyTorch's conv weight layout [out, in, h, w] from tfjs's [h, w, in, out]
assert tensors["weight/conv_1/kernel"].transpose(3, 2, 0, 1).shape == (4, 3, 3, 3)
${summarise}`;
    expectSameAsTicket(runPython(script, file));
  });

  it.skipIf(!hasSafetensors)('with safetensors.numpy.load_file', () => {
    const file = path.join(dir, 'ticket-lib.safetensors');
    writeFileSync(file, encodeTicket(ticket));
    const script = `
import json, sys
import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file
tensors = load_file(sys.argv[1])
with safe_open(sys.argv[1], framework="np") as f:
    metadata = f.metadata()
${summarise}`;
    expectSameAsTicket(runPython(script, file));
  });

  if (!hasNumpy) it.skip('python3 with numpy is not available here, so the Python reading test is skipped', () => {});
});
