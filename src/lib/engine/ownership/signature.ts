/**
 * A white-box ownership signature in a ticket's mask (Chen et al., NeurIPS
 * 2021, Scheme 2): the owner's text as a QR code written into one conv
 * layer's kernel map, one module per 3x3 kernel.
 *
 * Departures from the reference code (../shared/reference/next-methods.md §3):
 * - the whole symbol is written, function patterns included, so the code in
 *   the mask is a complete QR code that a reader finds without the key (the
 *   reference copies the original mask there and redraws the patterns);
 * - no extra kernel is switched fully on (the reference's misplaced
 *   "dark module" at (21, 21));
 * - a kernel switched on keeps its largest-magnitude weight (the reference
 *   picks one at random), and the weight count is rebalanced in both
 *   directions, by magnitude, outside the code's region, so the sparsity is
 *   exactly unchanged (the reference only adds weights back);
 * - the bit error rate counts data and error-correction modules only (the
 *   reference's counts the redrawn patterns, which are right by construction).
 */
import type { SavedMask } from '../checkpoint';
import { countOnes } from '../masks/mask';
import { darkWindow, isConvMask, kernelMap, keptInKernel, tapsOf, weightIndex, type KernelMap } from './kernel-map';
import { qrSymbol, readModules, versionSize, type QrSymbol } from './qr';

/** Where the code is and what it says: what the owner keeps to verify (also in the ticket's metadata). */
export interface OwnershipKey {
  layer: string;
  /** Top-left kernel of the code: output filter (row) and input channel (column). */
  row: number;
  col: number;
  version: number;
  /** SHA-256 of the payload's UTF-8 bytes, hex. */
  payloadSha256: string;
}

export type Masks = Record<string, SavedMask>;

/** A signature that cannot be written or read as asked; the message says why. */
export class OwnershipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OwnershipError';
  }
}

export async function payloadSha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function convLayerNames(masks: Masks): string[] {
  return Object.keys(masks).filter((name) => isConvMask(masks[name]));
}

/** The conv layer `layer` of `masks`, or an error naming the layers there are. */
function convMask(masks: Masks, layer: string, what: string): SavedMask {
  const convs = convLayerNames(masks);
  if (!Object.hasOwn(masks, layer) || !isConvMask(masks[layer])) {
    throw new OwnershipError(`${what} names layer "${layer}", which is not a conv layer of this ticket (its conv layers: ${convs.join(', ') || 'none'})`);
  }
  return masks[layer];
}

export interface Placement {
  layer: string;
  row: number;
  col: number;
  /** Modules whose kernel must change state. */
  flips: number;
}

/**
 * The layer and offset whose kernel map agrees most with the code (fewest
 * kernels to switch); among equals the first layer, row and column. With
 * `layer` the search stays in that layer.
 */
export function bestPlacement(masks: Masks, symbol: QrSymbol, layer?: string): Placement {
  const size = symbol.size;
  const names = layer === undefined ? convLayerNames(masks) : [layer];
  const maps = names.map((name) => ({ name, map: kernelMap(convMask(masks, name, 'The signing request')) }));
  const fitting = maps.filter(({ map }) => map.rows >= size && map.cols >= size);
  if (fitting.length === 0) {
    const sizes = maps.map(({ name, map }) => `${name} ${map.rows}x${map.cols}`).join(', ');
    throw new OwnershipError(
      `No conv layer${layer === undefined ? '' : ` named ${layer}`} has a kernel map large enough for a version-${symbol.version} QR code: it needs ${size}x${size} kernels (output filters x input channels), and the ticket has ${sizes || 'no conv layer'}. Use a wider network or a shorter payload (version 1 needs 21x21).`,
    );
  }
  let best: Placement | null = null;
  for (const { name, map } of fitting) {
    for (let row = 0; row + size <= map.rows; row++) {
      for (let col = 0; col + size <= map.cols; col++) {
        const flips = disagreements(map, row, col, symbol);
        if (!best || flips < best.flips) best = { layer: name, row, col, flips };
      }
    }
  }
  return best!;
}

function disagreements(map: KernelMap, row: number, col: number, symbol: QrSymbol): number {
  let flips = 0;
  for (let r = 0; r < symbol.size; r++) {
    for (let c = 0; c < symbol.size; c++) {
      const on = map.on[(row + r) * map.cols + col + c];
      if (on === symbol.dark[r * symbol.size + c]) flips++;
    }
  }
  return flips;
}

export interface WriteReport {
  /** Kernels switched on (one weight each) and off (all weights pruned). */
  kernelsOn: number;
  kernelsOff: number;
  /** Weights the code itself added and removed. */
  weightsAdded: number;
  weightsRemoved: number;
  /** Weights switched outside the code to restore the count: positive = added back, negative = removed. */
  rebalanced: number;
  keptBefore: number;
  keptAfter: number;
}

/** Magnitudes by layer that choose which weights to keep or drop: the ticket's rewind weights, or trained ones. */
export type Magnitudes = Record<string, Float32Array>;

/**
 * Writes `symbol` into the kernel map of `placement.layer` at (row, col) and
 * rebalances the weight count over the conv layers outside the code's region,
 * largest magnitudes added back first, smallest removed first. Returns new
 * masks; `masks` is left as it was.
 */
export function writeCode(masks: Masks, magnitudes: Magnitudes, symbol: QrSymbol, placement: Omit<Placement, 'flips'>): { masks: Masks; report: WriteReport } {
  const out: Masks = Object.create(null);
  for (const [name, mask] of Object.entries(masks)) out[name] = { shape: [...mask.shape], keep: mask.keep.slice() };
  const target = convMask(out, placement.layer, 'The placement');
  const map = kernelMap(target);
  const size = symbol.size;
  if (placement.row < 0 || placement.col < 0 || placement.row + size > map.rows || placement.col + size > map.cols) {
    throw new OwnershipError(
      `A ${size}x${size} code at row ${placement.row}, column ${placement.col} does not fit the ${map.rows}x${map.cols} kernel map of ${placement.layer}`,
    );
  }
  const weights = magnitudeOf(magnitudes, placement.layer, target);
  const taps = tapsOf(target.shape);
  const inRegion = new Uint8Array(target.keep.length);
  const report: WriteReport = { kernelsOn: 0, kernelsOff: 0, weightsAdded: 0, weightsRemoved: 0, rebalanced: 0, keptBefore: 0, keptAfter: 0 };
  for (const mask of Object.values(masks)) report.keptBefore += countOnes(mask.keep);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const o = placement.row + r;
      const i = placement.col + c;
      const indices = Array.from({ length: taps }, (_, tap) => weightIndex(target.shape, o, i, tap));
      for (const index of indices) inRegion[index] = 1;
      const wantOn = symbol.dark[r * size + c] === 0;
      const isOn = map.on[o * map.cols + i] === 1;
      if (wantOn && !isOn) {
        const strongest = indices.reduce((a, b) => (Math.abs(weights[b]) > Math.abs(weights[a]) ? b : a));
        target.keep[strongest] = 1;
        report.kernelsOn++;
        report.weightsAdded++;
      } else if (!wantOn && isOn) {
        for (const index of indices) {
          report.weightsRemoved += target.keep[index];
          target.keep[index] = 0;
        }
        report.kernelsOff++;
      }
    }
  }
  report.rebalanced = rebalance(out, magnitudes, placement.layer, inRegion, report.weightsRemoved - report.weightsAdded);
  for (const mask of Object.values(out)) report.keptAfter += countOnes(mask.keep);
  return { masks: out, report };
}

function magnitudeOf(magnitudes: Magnitudes, layer: string, mask: SavedMask): Float32Array {
  const values = Object.hasOwn(magnitudes, layer) ? magnitudes[layer] : undefined;
  if (!values || values.length !== mask.keep.length) throw new OwnershipError(`No weights of layer ${layer} (${mask.keep.length} values) to choose kernels by`);
  return values;
}

/**
 * Adds back `count` pruned weights (or removes -count kept ones) in the conv
 * layers, outside the code's region: largest magnitudes are added first,
 * smallest removed first, ties by position. Returns the signed count switched.
 */
function rebalance(masks: Masks, magnitudes: Magnitudes, codeLayer: string, inRegion: Uint8Array, count: number): number {
  if (count === 0) return 0;
  const adding = count > 0;
  const candidates: { mask: SavedMask; index: number; magnitude: number }[] = [];
  for (const layer of convLayerNames(masks)) {
    const mask = masks[layer];
    const weights = magnitudeOf(magnitudes, layer, mask);
    for (let index = 0; index < mask.keep.length; index++) {
      if (layer === codeLayer && inRegion[index]) continue;
      if ((mask.keep[index] === 0) === adding) candidates.push({ mask, index, magnitude: Math.abs(weights[index]) });
    }
  }
  const needed = Math.abs(count);
  if (candidates.length < needed) {
    throw new OwnershipError(
      `The code changes the weight count by ${-count}, but only ${candidates.length} weights outside its region can be ${adding ? 'added back' : 'removed'} to keep the sparsity`,
    );
  }
  candidates.sort((a, b) => (adding ? b.magnitude - a.magnitude : a.magnitude - b.magnitude));
  for (let k = 0; k < needed; k++) candidates[k].mask.keep[candidates[k].index] = adding ? 1 : 0;
  return count;
}

export interface SignOptions {
  payload: string;
  /** Conv layer to sign; the one with the fewest flips when absent. */
  layer?: string;
  /** QR version; the smallest that holds the payload when absent. */
  version?: number;
}

export interface Signature {
  masks: Masks;
  key: OwnershipKey;
  flips: number;
  report: WriteReport;
}

/** Signs `masks` with `options.payload`: the code at the placement of fewest flips, the sparsity unchanged. */
export async function signMasks(masks: Masks, magnitudes: Magnitudes, options: SignOptions): Promise<Signature> {
  const symbol = qrSymbol(options.payload, options.version);
  const placement = bestPlacement(masks, symbol, options.layer);
  const written = writeCode(masks, magnitudes, symbol, placement);
  return {
    masks: written.masks,
    key: { layer: placement.layer, row: placement.row, col: placement.col, version: symbol.version, payloadSha256: await payloadSha256(options.payload) },
    flips: placement.flips,
    report: written.report,
  };
}

export interface Extraction {
  size: number;
  /** The kernel map at the key as QR modules: 1 = dark = pruned kernel. */
  dark: Uint8Array;
  /** What a QR reader decodes from it, null where nothing decodes. */
  text: string | null;
}

/** Reads the code at `key` in `masks` (checking that the key fits the ticket). */
export function extractCode(masks: Masks, key: Omit<OwnershipKey, 'payloadSha256'>): Extraction {
  const mask = convMask(masks, key.layer, 'The key');
  const map = kernelMap(mask);
  if (!Number.isInteger(key.version) || key.version < 1 || key.version > 40) throw new OwnershipError(`The key's QR version ${key.version} does not exist (1 to 40)`);
  const size = versionSize(key.version);
  if (!Number.isInteger(key.row) || !Number.isInteger(key.col) || key.row < 0 || key.col < 0 || key.row + size > map.rows || key.col + size > map.cols) {
    throw new OwnershipError(
      `The key puts a ${size}x${size} code at row ${key.row}, column ${key.col} of ${key.layer}, whose kernel map is only ${map.rows}x${map.cols}`,
    );
  }
  const dark = darkWindow(map, key.row, key.col, size);
  return { size, dark, text: readModules(dark, size) };
}

export interface Verification extends Extraction {
  decoded: boolean;
  /** The code the extraction is compared with, null where there is no text to draw it from. */
  reference: Uint8Array | null;
  /** Data and error-correction modules that differ from the reference, row-major (1 = wrong). */
  errors: Uint8Array | null;
  /** Wrong data and error-correction modules / all of them; null without a reference. */
  bitErrorRate: number | null;
  /** Whether the reference text hashes to the key's payload hash. */
  payloadMatchesKey: boolean | null;
  /** Function modules (finders, timing, alignment, format) that differ from the reference: not in the bit error rate, but a reader needs them. */
  fixedErrors: number | null;
  /** What the reader decodes once the function modules are redrawn from the reference (as the reference code's extraction does). */
  textWithFixedRedrawn: string | null;
}

/**
 * White-box verification at `key`: decode the kernel map there, and compare it
 * module by module with the owner's code (drawn from `payload`, or from the
 * decoded text when no payload is given) over data and error-correction
 * modules only.
 */
export async function verifyMasks(masks: Masks, key: OwnershipKey, payload?: string): Promise<Verification> {
  const extraction = extractCode(masks, key);
  const referenceText = payload ?? extraction.text;
  if (referenceText === null) {
    return { ...extraction, decoded: false, reference: null, errors: null, bitErrorRate: null, payloadMatchesKey: null, fixedErrors: null, textWithFixedRedrawn: null };
  }
  const symbol = qrSymbol(referenceText, key.version);
  const errors = new Uint8Array(symbol.dark.length);
  let dataModules = 0;
  let wrong = 0;
  let fixedErrors = 0;
  const redrawn = extraction.dark.slice();
  for (let m = 0; m < symbol.dark.length; m++) {
    if (symbol.fixed[m]) {
      if (symbol.dark[m] !== extraction.dark[m]) fixedErrors++;
      redrawn[m] = symbol.dark[m];
      continue;
    }
    dataModules++;
    if (symbol.dark[m] !== extraction.dark[m]) {
      errors[m] = 1;
      wrong++;
    }
  }
  return {
    ...extraction,
    decoded: extraction.text !== null,
    reference: symbol.dark,
    errors,
    bitErrorRate: wrong / dataModules,
    payloadMatchesKey: (await payloadSha256(referenceText)) === key.payloadSha256,
    fixedErrors,
    textWithFixedRedrawn: fixedErrors === 0 ? extraction.text : readModules(redrawn, extraction.size),
  };
}

export interface ScanHit {
  layer: string;
  row: number;
  col: number;
  version: number;
  /** Share of the three corner finder blocks (finder + separator, 8x8 each) that match a QR code's. */
  finderAgreement: number;
  text: string | null;
}

/** Finder blocks must match this well before a window is handed to the reader (a reader needs them to find the code at all). */
const FINDER_AGREEMENT_TO_READ = 0.9;
const FINDER_BLOCK = 8;

/**
 * Keyless search: every conv layer, QR version and offset. Each window's
 * corner finder blocks are compared with a QR code's; windows that match
 * at least 90% are handed to the reader. Returns the best-matching window and
 * every window that decoded.
 */
export function scanMasks(masks: Masks): { best: ScanHit | null; decoded: ScanHit[]; windows: number } {
  let best: ScanHit | null = null;
  const decoded: ScanHit[] = [];
  let windows = 0;
  for (const layer of convLayerNames(masks)) {
    const map = kernelMap(masks[layer]);
    for (let version = 1; versionSize(version) <= Math.min(map.rows, map.cols); version++) {
      const size = versionSize(version);
      const finder = finderBlocks(size);
      for (let row = 0; row + size <= map.rows; row++) {
        for (let col = 0; col + size <= map.cols; col++) {
          windows++;
          let agree = 0;
          for (const { r, c, dark } of finder) agree += (map.on[(row + r) * map.cols + col + c] === 0 ? 1 : 0) === dark ? 1 : 0;
          const finderAgreement = agree / finder.length;
          let text: string | null = null;
          if (finderAgreement >= FINDER_AGREEMENT_TO_READ) {
            text = readModules(darkWindow(map, row, col, size), size);
            if (text !== null) decoded.push({ layer, row, col, version, finderAgreement, text });
          }
          if (!best || finderAgreement > best.finderAgreement) best = { layer, row, col, version, finderAgreement, text };
        }
      }
    }
  }
  return { best, decoded, windows };
}

/** The modules of the three finder blocks of a size x size symbol, with their colour (1 = dark). */
function finderBlocks(size: number): { r: number; c: number; dark: number }[] {
  const modules: { r: number; c: number; dark: number }[] = [];
  const corners = [
    [0, 0, 0, 0],
    [0, size - FINDER_BLOCK, 0, 1],
    [size - FINDER_BLOCK, 0, 1, 0],
  ];
  for (const [top, left, flipRows, flipCols] of corners) {
    for (let y = 0; y < FINDER_BLOCK; y++) {
      for (let x = 0; x < FINDER_BLOCK; x++) {
        // Distance from the finder's outer corner: the separator is the block's inner row and column.
        const fy = flipRows ? FINDER_BLOCK - 1 - y : y;
        const fx = flipCols ? FINDER_BLOCK - 1 - x : x;
        const ring = Math.max(Math.abs(fy - 3), Math.abs(fx - 3));
        const dark = fy === 7 || fx === 7 ? 0 : ring === 2 ? 0 : 1;
        modules.push({ r: top + y, c: left + x, dark });
      }
    }
  }
  return modules;
}

/**
 * The fragile bits: kernels of the code that are on with exactly one kept
 * weight in `signed` (mostly kernels the signature switched on).
 */
export function singleWeightKernels(signed: Masks, key: Omit<OwnershipKey, 'payloadSha256'>): { o: number; i: number }[] {
  const mask = convMask(signed, key.layer, 'The key');
  const size = versionSize(key.version);
  const singles: { o: number; i: number }[] = [];
  for (let o = key.row; o < key.row + size; o++) {
    for (let i = key.col; i < key.col + size; i++) {
      if (keptInKernel(mask, o, i) === 1) singles.push({ o, i });
    }
  }
  return singles;
}

/** How many of `kernels` are still on in `masks`. */
export function kernelsStillOn(masks: Masks, layer: string, kernels: { o: number; i: number }[]): number {
  const map = kernelMap(convMask(masks, layer, 'The key'));
  return kernels.filter(({ o, i }) => map.on[o * map.cols + i] === 1).length;
}
