/**
 * Attacks on a signed ticket's mask (Chen et al.'s removal and ambiguity
 * attacks), as pure functions of masks and weights; training between them
 * (fine-tuning, retraining a forged mask) is the ownership method's.
 */
import { countOnes, MaskSet } from '../masks/mask';
import { pruneGlobal, pruneLayerwise } from '../masks/prune';
import { Rng } from '../rng';
import { tapsOf, weightIndex } from './kernel-map';
import { qrSymbol, versionSize } from './qr';
import { convLayerNames, writeCode, type Magnitudes, type Masks, type OwnershipKey, type WriteReport } from './signature';

function toMaskSet(masks: Masks): MaskSet {
  return new MaskSet(new Map(Object.entries(masks).map(([name, m]) => [name, { name, shape: [...m.shape], keep: m.keep.slice() }])));
}

function fromMaskSet(masks: MaskSet): Masks {
  const out: Masks = Object.create(null);
  for (const [name, m] of masks.layers) out[name] = { shape: [...m.shape], keep: m.keep.slice() };
  return out;
}

/** Removal attack: prune `fraction` of the surviving conv weights by one global magnitude threshold (the reference's `--evaluate-p`). */
export function pruneFurther(masks: Masks, weights: Magnitudes, fraction: number): Masks {
  const convs = convLayerNames(masks);
  const ignore = Object.keys(masks).filter((name) => !convs.includes(name));
  return fromMaskSet(pruneGlobal(toMaskSet(masks), new Map(Object.entries(weights)), fraction, ignore));
}

/**
 * Adds connections: switches on `fraction` of the pruned conv weights, drawn
 * at random, with values from N(0, std^2) (the reference's add-qrcode
 * attack). Returns the new masks and the conv weights with those values set.
 */
export function reactivate(masks: Masks, weights: Magnitudes, fraction: number, seed: number, std: number): { masks: Masks; weights: Magnitudes } {
  const rng = new Rng(seed);
  const outMasks: Masks = Object.create(null);
  const outWeights: Magnitudes = Object.create(null);
  for (const [name, mask] of Object.entries(masks)) {
    outMasks[name] = { shape: [...mask.shape], keep: mask.keep.slice() };
    if (Object.hasOwn(weights, name)) outWeights[name] = weights[name].slice();
  }
  for (const name of convLayerNames(masks)) {
    const keep = outMasks[name].keep;
    const values = outWeights[name];
    const pruned: number[] = [];
    for (let k = 0; k < keep.length; k++) if (!keep[k]) pruned.push(k);
    const order = rng.shuffle(Uint32Array.from(pruned));
    const count = Math.round(fraction * pruned.length);
    for (let n = 0; n < count; n++) {
      keep[order[n]] = 1;
      values[order[n]] = std * rng.normal();
    }
  }
  return { masks: outMasks, weights: outWeights };
}

/** After fine-tuning with the mask lifted: keep each layer's `reference` count of weights, largest magnitudes. */
export function repruneToCounts(reference: Masks, weights: Magnitudes): Masks {
  const dense = new MaskSet(new Map(Object.entries(reference).map(([name, m]) => [name, { name, shape: [...m.shape], keep: new Uint8Array(m.keep.length).fill(1) }])));
  const rates = new Map(
    Object.entries(reference).map(([name, m]) => {
      return [name, 1 - countOnes(m.keep) / m.keep.length];
    }),
  );
  return fromMaskSet(pruneLayerwise(dense, new Map(Object.entries(weights)), rates));
}

/**
 * Ambiguity attack: the thief writes a code of their own over the owner's,
 * in the same region (sparsity rebalanced as the owner's was), and draws the
 * region's weights afresh from N(0, std^2) so its trained values are gone.
 */
export function forgeCode(
  masks: Masks,
  weights: Magnitudes,
  key: Omit<OwnershipKey, 'payloadSha256'>,
  payload: string,
  seed: number,
  std: number,
): { masks: Masks; weights: Magnitudes; report: WriteReport } {
  const symbol = qrSymbol(payload, key.version);
  const written = writeCode(masks, weights, symbol, key);
  const outWeights: Magnitudes = Object.create(null);
  for (const [name, values] of Object.entries(weights)) outWeights[name] = values.slice();
  const shape = masks[key.layer].shape;
  const values = outWeights[key.layer];
  const rng = new Rng(seed);
  const size = versionSize(key.version);
  for (let o = key.row; o < key.row + size; o++) {
    for (let i = key.col; i < key.col + size; i++) {
      for (let tap = 0; tap < tapsOf(shape); tap++) values[weightIndex(shape, o, i, tap)] = std * rng.normal();
    }
  }
  return { masks: written.masks, weights: outWeights, report: written.report };
}

/** Standard deviation of a layer's kept weights: the scale for weights an attack draws. */
export function keptStd(mask: { keep: Uint8Array }, values: Float32Array): number {
  let n = 0;
  let sum = 0;
  let squares = 0;
  for (let k = 0; k < values.length; k++) {
    if (!mask.keep[k]) continue;
    n++;
    sum += values[k];
    squares += values[k] * values[k];
  }
  return n < 2 ? 0 : Math.sqrt(Math.max(0, squares / n - (sum / n) ** 2));
}
