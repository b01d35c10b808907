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
  /**
   * Black-box signature: this many trigger images (abstract noise with fixed
   * random labels, drawn from the run's seed) learnt while the signed ticket
   * retrains; 0 trains none.
   */
  triggers: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(1000)), 0),
  /** Trigger images added to each training batch of the signed ticket. */
  triggersPerBatch: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(256)), 1),
});

export const ownershipSpec: MethodSpec<'ownership', typeof OwnershipSchema> = {
  name: 'ownership',
  summary: 'Sign an imported ticket with a QR code in its kernel map (and optionally a trigger set), retrain it beside the unsigned ticket, verify it and attack it.',
  differences:
    'The whole QR symbol is written (the reference copies the original mask over the fixed patterns and redraws them when reading), so the code reads without the key; ' +
    'a switched-on kernel keeps its largest rewind weight (the reference: a random one); the weight count is rebalanced both ways by magnitude over the conv layers outside the code (the reference only adds back); ' +
    'the bit error rate counts data and error-correction modules only. ' +
    'The trigger set is generated from the seed (8×8 blocks of random colour with random labels; the reference ships 100 abstract pictures), and its images are added to each batch rather than replacing clean ones, so the signed ticket sees the unsigned one’s batches plus the triggers.',
  schema: OwnershipSchema,
  panels: [
    {
      title: 'Ticket ownership',
      section: 'ownership',
      items: [
        {
          kind: 'number',
          id: 'ownership-triggers',
          label: 'Trigger images',
          path: 'ownership.triggers',
          min: 0,
          max: 1000,
          step: 1,
          placeholder: '0 (none)',
          hint: 'Black-box signature: noise images with fixed random labels that the signed ticket learns as it retrains (the paper: 100); 0 trains none.',
          section: 'ownership-blackbox',
        },
        {
          kind: 'number',
          id: 'ownership-triggers-per-batch',
          label: 'Triggers per batch',
          path: 'ownership.triggersPerBatch',
          min: 1,
          max: 256,
          step: 1,
          placeholder: '1',
          hint: 'Trigger images added to each batch; each is seen iterations × this ÷ trigger images times, so short runs need more than one.',
          section: 'ownership-blackbox',
          visibleWhen: (config) => config.ownership.triggers > 0,
        },
        {
          kind: 'numbers',
          id: 'ownership-prune',
          label: 'Further pruning',
          path: 'ownership.prune',
          min: 0,
          max: 1,
          placeholder: '0.1, 0.3, 0.5, 0.7, 0.9',
          hint: 'Removal attack: shares of the surviving conv weights pruned further by magnitude.',
          section: 'ownership-whitebox',
        },
        {
          kind: 'numbers',
          id: 'ownership-reactivate',
          label: 'Reactivation',
          path: 'ownership.reactivate',
          min: 0,
          max: 1,
          placeholder: '0.01, 0.05, 0.2',
          hint: 'Attack: shares of the pruned conv weights switched back on with random values.',
          section: 'ownership-whitebox',
        },
        {
          kind: 'number',
          id: 'ownership-attack-iterations',
          label: 'Attacker’s iterations',
          path: 'ownership.attackIterations',
          min: 0,
          step: 1,
          placeholder: '100',
          hint: 'Training for the fine-tune-and-re-prune attack and for retraining a forged code; 0 skips both.',
          section: 'ownership-whitebox',
        },
        {
          kind: 'number',
          id: 'ownership-random-masks',
          label: 'Random masks scanned',
          path: 'ownership.randomMasks',
          min: 0,
          max: 100,
          step: 1,
          placeholder: '10',
          hint: 'False-positive check: random masks of the ticket’s density, each scanned for any decodable code.',
          section: 'ownership-whitebox',
        },
        {
          kind: 'boolean',
          id: 'ownership-retrain-unsigned',
          label: 'Retrain unsigned',
          text: 'Retrain the unsigned ticket beside the signed one',
          path: 'ownership.retrainUnsigned',
          hint: 'The accuracy the signature costs, and the model without triggers whose trigger accuracy is the black-box false-positive check.',
          section: 'ownership',
        },
      ],
    },
  ],
  help: {
    title: 'Ticket ownership signatures',
    paragraphs: [
      'Signing writes the owner’s text as a QR code (error correction H) into one conv layer’s kernel map: one module per 3×3 kernel, light where the kernel keeps at least one weight, dark where all nine are pruned. The layer and offset are the ones where the mask already agrees most with the code, a kernel is switched on by keeping its largest weight and off by pruning all nine, and weights outside the code are added back or removed by magnitude so the sparsity is exactly unchanged. The key (layer, row, column, QR version, SHA-256 of the text) goes into the ticket’s metadata.',
      'With trigger images the signed ticket also learns a black-box signature as it retrains: noise images with fixed random labels added to its batches. The run retrains the signed ticket (with the triggers) and the unsigned one (without), verifies both signatures, and attacks the trained signed network: further pruning, reactivating pruned weights, fine-tuning with the mask lifted then re-pruning, and forging a second code. The attack chart draws the bit error rate, test accuracy and trigger accuracy against each attack’s strength.',
      'Sign and verify single tickets without training under “Ticket ownership” below the ticket buttons; run this method on an imported ticket for the retraining and the attacks.',
    ],
  },
  helpSections: [
    {
      id: 'ownership-whitebox',
      title: 'Ownership: what white-box verification proves',
      paragraphs: [
        'It proves that the suspect mask carries your code: the kernel map at your key (or anywhere, when every layer and offset is scanned without it) decodes to your text, and the bit error rate says how many of the data and error-correction modules differ from your code. An independently pruned mask, or a random mask of the same density, essentially never holds a decodable QR code; the run checks both, and the unsigned ticket and the random masks must decode nothing.',
        'It does not prove who wrote a code first: a thief can write a code of their own over yours (the forging attack), so keep the signed ticket, its key and its date. It needs the mask itself, so the suspect must hand over the weights. It does not survive every attack: pruning away many of the remaining weights erases the light kernels held by one weight, switching pruned weights back on turns dark modules light, and the finder and timing patterns a reader needs can break before the error correction runs out. A code that no longer decodes proves nothing either way.',
      ],
    },
    {
      id: 'ownership-blackbox',
      title: 'Ownership: what black-box verification proves',
      paragraphs: [
        'The trigger set is checked through predictions alone, so it works on a deployed model whose weights you cannot see: your model labels the trigger images as you labelled them (near 100% once learnt), while a model trained without them labels them at about chance (one in the number of classes). The run reports both: the signed network’s trigger accuracy, and the unsigned ticket’s, trained on the same batches without the triggers, as the false-positive check. Each attack row gives the trigger accuracy after the attack, after the attacker’s training where the attack trains.',
        'It says nothing about the mask: it marks the trained network’s function, not the ticket, so a thief who retrains your mask from its rewind weights without your triggers leaves no trigger behaviour, and fine-tuning or heavy pruning can wash it out. With few trigger images chance alone can score high (with 10 images and 10 classes, 4 or more right happens to about one model in 78), so judge it against the chance line and use enough images. It shows the suspect learnt your triggers, which another party could do only with your trigger set: keep it secret (here it follows from the run’s seed).',
      ],
    },
  ],
  views: ['ownership-attacks'],
  runsBeside: false,
  takesTicket: true,
};
