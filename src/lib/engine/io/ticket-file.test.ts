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
import { initBackend } from '../runtime/backend';
import { decodeSafetensors, encodeSafetensors } from './safetensors';
import { createTicket, saveModel } from './saved';
import { checkTicketFits, decodeTicket, encodeTicket } from './ticket-file';

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
