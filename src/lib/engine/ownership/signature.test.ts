import { describe, expect, it } from 'vitest';
import type { Ticket } from '../checkpoint';
import { decodeTicket, encodeTicket } from '../io/ticket-file';
import { countOnes } from '../masks/mask';
import { Rng } from '../rng';
import { forgeCode, pruneFurther, reactivate, repruneToCounts } from './attacks';
import { kernelMap } from './kernel-map';
import { qrSymbol } from './qr';
import {
  bestPlacement,
  kernelsStillOn,
  scanMasks,
  signMasks,
  singleWeightKernels,
  verifyMasks,
  writeCode,
  type Magnitudes,
  type Masks,
} from './signature';

const PAYLOAD = 'lottery-lab';

/**
 * A ticket-like set of masks: a 32x32 conv, a 32x16 conv (too narrow for any
 * code) and a dense layer, each kept with `density` (conv_2 with `conv2Density` where given).
 */
function ticketMasks(density: number, seed: number, conv2Density = density): { masks: Masks; weights: Magnitudes } {
  const rng = new Rng(seed);
  const shapes: Record<string, number[]> = { conv_1: [3, 3, 3, 16], conv_2: [3, 3, 16, 32], conv_3: [3, 3, 32, 32], dense_1: [64, 10] };
  const masks: Masks = Object.create(null);
  const weights: Magnitudes = Object.create(null);
  for (const [name, shape] of Object.entries(shapes)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const layerDensity = name === 'conv_2' ? conv2Density : density;
    masks[name] = { shape, keep: Uint8Array.from({ length: size }, () => (rng.next() < layerDensity ? 1 : 0)) };
    weights[name] = Float32Array.from({ length: size }, () => rng.normal() * 0.05);
  }
  return { masks, weights };
}

/** A Conv-2 ticket (decodeTicket checks layer names, not sizes) whose conv_2 mask is `masks.conv_3`. */
function ticketOf(masks: Masks): Ticket {
  const small = { shape: [2, 2], keep: new Uint8Array(4).fill(1) };
  const ticketMasks = { conv_1: masks.conv_1, conv_2: masks.conv_3, dense_1: small, dense_2: small, dense_3: small };
  return { arch: 'conv-2', width: 0.5, numClasses: 10, method: 'imp', round: 1, sparsity: 0.5, iteration: 0, masks: ticketMasks, weights: {} };
}

function kept(masks: Masks): number {
  return Object.values(masks).reduce((n, m) => n + countOnes(m.keep), 0);
}

describe('QR payload', () => {
  it('takes the smallest version that holds the payload at level H, and says which one a too-long payload needs', () => {
    expect(qrSymbol('abc').version).toBe(1);
    expect(qrSymbol(PAYLOAD).version).toBe(2);
    expect(() => qrSymbol('x'.repeat(30), 1)).toThrow('too long for a QR code of version 1 (21x21 modules) at error correction H: it needs version 4 (33x33)');
    expect(() => qrSymbol('')).toThrow('empty');
  });
});

describe('signing', () => {
  it('writes a code that decodes with zero bit errors and keeps the weight count when the code removes more than it adds', async () => {
    // At 35% density almost every kernel is on, so the code's dark modules prune whole kernels: weights are added back.
    const { masks, weights } = ticketMasks(0.35, 1);
    const signed = await signMasks(masks, weights, { payload: PAYLOAD });
    expect(signed.report.weightsRemoved).toBeGreaterThan(signed.report.weightsAdded);
    expect(signed.report.rebalanced).toBeGreaterThan(0);
    expect(kept(signed.masks)).toBe(kept(masks));
    expect(signed.key.layer).toBe('conv_3');
    const verified = await verifyMasks(signed.masks, signed.key, PAYLOAD);
    expect(verified.decoded).toBe(true);
    expect(verified.text).toBe(PAYLOAD);
    expect(verified.bitErrorRate).toBe(0);
    expect(verified.payloadMatchesKey).toBe(true);
    // The input is left as it was.
    expect(kept(masks)).toBe(kept(ticketMasks(0.35, 1).masks));
  });

  it('keeps the weight count when the code adds more than it removes', async () => {
    // At 2% density most kernels are off: the light modules switch kernels on, so weights are removed
    // elsewhere (conv_2, denser, has them to give).
    const { masks, weights } = ticketMasks(0.02, 2, 0.3);
    const signed = await signMasks(masks, weights, { payload: PAYLOAD });
    expect(signed.report.weightsAdded).toBeGreaterThan(signed.report.weightsRemoved);
    expect(signed.report.rebalanced).toBeLessThan(0);
    expect(kept(signed.masks)).toBe(kept(masks));
    const verified = await verifyMasks(signed.masks, signed.key);
    expect(verified).toMatchObject({ decoded: true, text: PAYLOAD, bitErrorRate: 0 });
  });

  it('places the code where the kernel map already agrees most', async () => {
    const { masks, weights } = ticketMasks(0.35, 3);
    const symbol = qrSymbol(PAYLOAD);
    // Write the code at (4, 2) of conv_3 first: that window needs no flips afterwards.
    const prepared = writeCode(masks, weights, symbol, { layer: 'conv_3', row: 4, col: 2 }).masks;
    expect(bestPlacement(prepared, symbol)).toEqual({ layer: 'conv_3', row: 4, col: 2, flips: 0 });
    const signed = await signMasks(prepared, weights, { payload: PAYLOAD });
    expect(signed.key).toMatchObject({ layer: 'conv_3', row: 4, col: 2, version: 2 });
    expect(signed.report).toMatchObject({ kernelsOn: 0, kernelsOff: 0, rebalanced: 0 });
  });

  it('switches a kernel on with one weight and off with all of them', async () => {
    const { masks, weights } = ticketMasks(0.02, 4, 0.3);
    const signed = await signMasks(masks, weights, { payload: PAYLOAD });
    const symbol = qrSymbol(PAYLOAD);
    const before = kernelMap(masks[signed.key.layer]);
    const after = kernelMap(signed.masks[signed.key.layer]);
    const singles = new Set(singleWeightKernels(signed.masks, signed.key).map(({ o, i }) => `${o},${i}`));
    let switchedOn = 0;
    for (let r = 0; r < symbol.size; r++) {
      for (let c = 0; c < symbol.size; c++) {
        const o = signed.key.row + r;
        const i = signed.key.col + c;
        expect(after.on[o * after.cols + i]).toBe(1 - symbol.dark[r * symbol.size + c]);
        if (!before.on[o * before.cols + i] && after.on[o * after.cols + i]) {
          switchedOn++;
          expect(singles.has(`${o},${i}`)).toBe(true);
        }
      }
    }
    expect(switchedOn).toBe(signed.report.kernelsOn);
  });

  it('says what is wrong with a layer too small, a payload too long, or a key naming a layer the ticket lacks', async () => {
    const { masks, weights } = ticketMasks(0.35, 5);
    await expect(signMasks(masks, weights, { payload: PAYLOAD, layer: 'conv_2' })).rejects.toThrow(
      'No conv layer named conv_2 has a kernel map large enough for a version-2 QR code: it needs 25x25 kernels (output filters x input channels), and the ticket has conv_2 32x16',
    );
    await expect(signMasks(masks, weights, { payload: 'x'.repeat(40) })).rejects.toThrow('needs 37x37 kernels');
    await expect(signMasks(masks, weights, { payload: 'x'.repeat(30), version: 1 })).rejects.toThrow('too long for a QR code of version 1');
    const key = { layer: 'conv_9', row: 0, col: 0, version: 2, payloadSha256: '0'.repeat(64) };
    await expect(verifyMasks(masks, key)).rejects.toThrow('The key names layer "conv_9", which is not a conv layer of this ticket (its conv layers: conv_1, conv_2, conv_3)');
    await expect(verifyMasks(masks, { ...key, layer: 'conv_3', row: 10 })).rejects.toThrow('at row 10, column 0 of conv_3, whose kernel map is only 32x32');
    await expect(verifyMasks(masks, { ...key, layer: '__proto__' })).rejects.toThrow('not a conv layer');
  });
});

describe('verification', () => {
  it('counts bit errors over data and error-correction modules only, not the fixed patterns', async () => {
    const { masks, weights } = ticketMasks(0.35, 13);
    const signed = await signMasks(masks, weights, { payload: PAYLOAD });
    const layer = signed.masks[signed.key.layer];
    const symbol = qrSymbol(PAYLOAD);
    const pruneKernel = (r: number, c: number) => {
      const [, , inChannels, outChannels] = layer.shape;
      for (let tap = 0; tap < 9; tap++) layer.keep[(tap * inChannels + signed.key.col + c) * outChannels + signed.key.row + r] = 0;
    };
    // (7, 7) is the light corner of the top-left separator: a fixed module.
    expect(symbol.fixed[7 * symbol.size + 7]).toBe(1);
    pruneKernel(7, 7);
    const fixedOnly = await verifyMasks(signed.masks, signed.key, PAYLOAD);
    expect(fixedOnly.bitErrorRate).toBe(0);
    expect(fixedOnly.fixedErrors).toBe(1);
    expect(fixedOnly.textWithFixedRedrawn).toBe(PAYLOAD);
    // The first light data module: one error among the data and error-correction modules.
    const data = symbol.dark.findIndex((dark, m) => !dark && !symbol.fixed[m]);
    pruneKernel(Math.floor(data / symbol.size), data % symbol.size);
    const dataModules = symbol.fixed.filter((f) => !f).length;
    const verified = await verifyMasks(signed.masks, signed.key, PAYLOAD);
    expect(verified.bitErrorRate).toBe(1 / dataModules);
    expect(verified.errors![data]).toBe(1);
  });

  it('carries the key in the ticket’s metadata', async () => {
    const { masks, weights } = ticketMasks(0.35, 14);
    const signed = await signMasks(masks, weights, { payload: PAYLOAD });
    const ticket = ticketOf(signed.masks);
    const decoded = decodeTicket(encodeTicket({ ...ticket, ownership: signed.key }));
    expect(decoded.ownership).toEqual(signed.key);
    expect(decodeTicket(encodeTicket(ticket)).ownership).toBeUndefined();
  });
});

describe('keyless scan', () => {
  it('finds the signed code without the key', async () => {
    const { masks, weights } = ticketMasks(0.35, 6);
    const signed = await signMasks(masks, weights, { payload: PAYLOAD });
    const scan = scanMasks(signed.masks);
    expect(scan.decoded).toHaveLength(1);
    expect(scan.decoded[0]).toMatchObject({ layer: signed.key.layer, row: signed.key.row, col: signed.key.col, version: 2, text: PAYLOAD });
    expect(scan.best?.finderAgreement).toBe(1);
  });

  it('decodes nothing from unsigned masks or random masks of the same density (no false positives)', () => {
    for (let seed = 10; seed < 20; seed++) {
      for (const density of [0.02, 0.1, 0.35]) {
        const scan = scanMasks(ticketMasks(density, seed).masks);
        expect(scan.decoded).toEqual([]);
        expect(scan.best!.finderAgreement).toBeLessThan(0.9);
      }
    }
  });

  it('decodes nothing at the key of an unsigned ticket', async () => {
    const { masks } = ticketMasks(0.35, 7);
    const verified = await verifyMasks(masks, { layer: 'conv_3', row: 3, col: 3, version: 2, payloadSha256: '0'.repeat(64) }, PAYLOAD);
    expect(verified.decoded).toBe(false);
    expect(verified.bitErrorRate).toBeGreaterThan(0.2);
  });
});

describe('attacks', () => {
  async function signedTicket(seed: number) {
    const { masks, weights } = ticketMasks(0.35, seed);
    return { weights, ...(await signMasks(masks, weights, { payload: PAYLOAD })) };
  }

  it('further pruning removes that share of the surviving conv weights, and errors grow with it until the code stops decoding', async () => {
    const signed = await signedTicket(8);
    const convKept = (m: Masks) => countOnes(m.conv_1.keep) + countOnes(m.conv_2.keep) + countOnes(m.conv_3.keep);
    let previous = 0;
    for (const p of [0.1, 0.5, 0.9]) {
      const pruned = pruneFurther(signed.masks, signed.weights, p);
      expect(convKept(pruned)).toBe(convKept(signed.masks) - Math.round(p * convKept(signed.masks)));
      expect(pruned.dense_1.keep).toEqual(signed.masks.dense_1.keep);
      const verified = await verifyMasks(pruned, signed.key, PAYLOAD);
      expect(verified.bitErrorRate!).toBeGreaterThanOrEqual(previous);
      previous = verified.bitErrorRate!;
    }
    expect(previous).toBeGreaterThan(0.3);
    expect((await verifyMasks(pruneFurther(signed.masks, signed.weights, 0.9), signed.key)).decoded).toBe(false);
  });

  it('the single-weight kernels are the first bits further pruning breaks', async () => {
    const signed = await signedTicket(9);
    const singles = singleWeightKernels(signed.masks, signed.key);
    expect(singles.length).toBeGreaterThan(0);
    expect(kernelsStillOn(signed.masks, signed.key.layer, singles)).toBe(singles.length);
    const pruned = pruneFurther(signed.masks, signed.weights, 0.5);
    expect(kernelsStillOn(pruned, signed.key.layer, singles)).toBeLessThan(singles.length);
  });

  it('random reactivation switches on that share of the pruned conv weights with fresh values', async () => {
    const signed = await signedTicket(10);
    const attacked = reactivate(signed.masks, signed.weights, 0.3, 1, 0.05);
    const pruned = signed.masks.conv_3.keep.length - countOnes(signed.masks.conv_3.keep);
    expect(countOnes(attacked.masks.conv_3.keep) - countOnes(signed.masks.conv_3.keep)).toBe(Math.round(0.3 * pruned));
    expect(attacked.masks.dense_1.keep).toEqual(signed.masks.dense_1.keep);
    const changed = attacked.weights.conv_3.findIndex((w, k) => signed.masks.conv_3.keep[k] === 0 && attacked.masks.conv_3.keep[k] === 1 && w !== signed.weights.conv_3[k]);
    expect(changed).toBeGreaterThanOrEqual(0);
    const verified = await verifyMasks(attacked.masks, signed.key, PAYLOAD);
    expect(verified.bitErrorRate!).toBeGreaterThan(0);
  });

  it('re-pruning after fine-tuning keeps every layer’s count, by magnitude', async () => {
    const signed = await signedTicket(11);
    const repruned = repruneToCounts(signed.masks, signed.weights);
    for (const name of Object.keys(signed.masks)) expect(countOnes(repruned[name].keep)).toBe(countOnes(signed.masks[name].keep));
    // The signature's choice of kernels is not magnitude's: re-pruning the same weights by magnitude breaks bits.
    expect((await verifyMasks(repruned, signed.key, PAYLOAD)).bitErrorRate!).toBeGreaterThan(0);
  });

  it('a forged code in the same region decodes as the forger’s text, with the sparsity kept and the region’s weights redrawn', async () => {
    const signed = await signedTicket(12);
    const forged = forgeCode(signed.masks, signed.weights, signed.key, 'thief-lab!!', 3, 0.05);
    expect(kept(forged.masks)).toBe(kept(signed.masks));
    const asOwner = await verifyMasks(forged.masks, signed.key, PAYLOAD);
    expect(asOwner.text).toBe('thief-lab!!');
    expect(asOwner.payloadMatchesKey).toBe(true);
    expect(asOwner.bitErrorRate!).toBeGreaterThan(0.2);
    expect(forged.weights.conv_3).not.toEqual(signed.weights.conv_3);
  });
});
