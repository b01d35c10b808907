/** Ownership signatures on an imported ticket: its config block and help (issue 18; Chen et al., NeurIPS 2021). */
import * as v from 'valibot';
import type { MethodSpec } from '../spec';

const fraction = v.pipe(v.number(), v.minValue(0), v.maxValue(1));

export const OwnershipSchema = v.strictObject({
  /** The owner's text, written into the mask as a QR code (error correction H). */
  payload: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(200)), 'lottery-lab'),
  /** Conv layer to sign; null picks the layer and offset with the fewest kernel flips. */
  layer: v.optional(v.nullable(v.pipe(v.string(), v.regex(/^conv_\d+$/, 'a conv layer name such as conv_2'))), null),
  /** QR version; null takes the smallest that holds the payload. */
  version: v.optional(v.nullable(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(40))), null),
  /** Removal attack: further global magnitude pruning of these shares of the surviving conv weights. */
  prune: v.optional(v.array(fraction), [0.1, 0.3, 0.5, 0.7, 0.9]),
  /** Adding connections: these shares of the pruned conv weights switched on with random values. */
  reactivate: v.optional(v.array(fraction), [0.01, 0.05, 0.2]),
  /** Iterations of fine-tuning with the mask lifted (then re-pruned), and of retraining a forged mask; 0 skips both. */
  attackIterations: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 100),
  /** The forger's text, written over the owner's code. */
  forgePayload: v.optional(v.pipe(v.string(), v.minLength(1), v.maxLength(200)), 'not-the-owner'),
  /**
   * Retrain the unsigned ticket beside the signed one. Off where the ticket's
   * own round already measured it: retraining repeats that round exactly.
   */
  retrainUnsigned: v.optional(v.boolean(), true),
  /** Random masks of the ticket's density scanned for a false positive. */
  randomMasks: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(100)), 10),
});

export const ownershipSpec: MethodSpec<'ownership', typeof OwnershipSchema> = {
  name: 'ownership',
  summary: 'Sign an imported ticket with a QR code in its kernel map, retrain it beside the unsigned ticket, verify it and attack it.',
  differences:
    'The whole QR symbol is written (the reference copies the original mask over the fixed patterns and redraws them when reading), so the code reads without the key; ' +
    'a switched-on kernel keeps its largest rewind weight (the reference: a random one); the weight count is rebalanced both ways by magnitude over the conv layers outside the code (the reference only adds back); ' +
    'the bit error rate counts data and error-correction modules only. No black-box trigger set yet: triggerAccuracy is null.',
  schema: OwnershipSchema,
  panels: [],
  help: {
    title: 'Ticket ownership signatures',
    paragraphs: [
      'Signing writes the owner’s text as a QR code (error correction H) into one conv layer’s kernel map: one module per 3×3 kernel, light where the kernel keeps at least one weight, dark where all nine are pruned. The layer and offset are the ones where the mask already agrees most with the code, a kernel is switched on by keeping its largest weight and off by pruning all nine, and weights outside the code are added back or removed by magnitude so the sparsity is exactly unchanged. The key (layer, row, column, QR version, SHA-256 of the text) goes into the ticket’s metadata.',
      'White-box verification proves that a mask carries your code: reading the kernel map at the key (or scanning every layer and offset without it) decodes your text, and the bit error rate counts the data and error-correction modules that differ from your code. A random or independently pruned mask essentially never shows a decodable QR code. It does not prove who wrote the code first: a thief can write a second code of their own (the forging attack), so keep the signed ticket, its key and its date. It needs the weights themselves, and pruning away most of the remaining weights erases the single-weight kernels the code relies on.',
      'Black-box verification (a trigger set of noise images with fixed random labels learnt alongside the data, checked through predictions only) would prove ownership of a deployed model without its weights; it is not implemented here yet, and it says nothing about the mask.',
    ],
  },
  views: [],
  runsBeside: false,
  takesTicket: true,
};
