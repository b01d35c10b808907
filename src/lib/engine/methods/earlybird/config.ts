/** EarlyBird's config block, option panel and help: plain data, shared with WORM's detector. */
import * as v from 'valibot';
import type { MethodSpec, PanelSpec } from '../spec';

const fraction = v.pipe(v.number(), v.minValue(0), v.maxValue(1));
const openFraction = v.pipe(v.number(), v.minValue(0), v.maxValue(0.999));

export const EarlyBirdSchema = v.strictObject({
  /** Channel pruning ratios tracked at once; the first is the one pruned after detection. */
  ratios: v.optional(v.pipe(v.array(openFraction), v.minLength(1)), [0.5]),
  queueLength: v.optional(v.pipe(v.number(), v.integer(), v.minValue(2)), 5),
  epsilon: v.optional(fraction, 0.1),
  /** Network-slimming sign-L1 strength on BN scales. */
  sparsity: v.optional(v.pipe(v.number(), v.minValue(0)), 1e-4),
  /** Epochs of retraining after the ticket is pruned; default continues the schedule to its end. */
  retrainEpochs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
  /** Our extension: the same detector on weight-magnitude masks (unstructured). */
  unstructured: v.optional(v.boolean(), false),
  /**
   * Our guard, not the papers': every layer keeps at least this many of its
   * strongest channels, so the global ranking cannot empty a layer (absent:
   * the papers' plain global ranking).
   */
  minChannels: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1))),
  /** Retrain the ticket with its pruned channels cut out (a smaller, faster network); false zeroes them in the dense one. */
  shrink: v.optional(v.boolean(), true),
  /**
   * Also train the search's network on unpruned, from the ticket's epoch to
   * the end of the schedule on the ticket's retraining batches: the dense
   * network the retrained ticket is compared with (series 'dense').
   */
  denseBaseline: v.optional(v.boolean(), false),
});

/** The detector's settings: EarlyBird's panel, and the first of WORM's. */
export const detectorPanel: PanelSpec = {
  title: 'EarlyBird detector',
  section: 'earlybird',
  items: [
    {
      kind: 'note',
      testid: 'earlybird-arch-hint',
      error: true,
      text: 'EarlyBird ranks BatchNorm scales: choose the conv-4-bn network (or the unstructured variant).',
      visibleWhen: (config) => config.model.arch !== 'conv-4-bn' && !config.earlybird.unstructured,
    },
    {
      kind: 'numbers',
      id: 'earlybird-ratio',
      label: 'Channel pruning ratios p',
      path: 'earlybird.ratios',
      min: 0,
      max: 0.999,
      placeholder: '0.5',
      hint: 'Share of all BatchNorm channels the ticket prunes (the paper: 0.3, 0.5, 0.7); list several to track each, the first is pruned.',
      section: 'earlybird',
    },
    {
      kind: 'number',
      id: 'earlybird-queue',
      label: 'Queue length',
      path: 'earlybird.queueLength',
      min: 2,
      step: 1,
      placeholder: '5',
      hint: 'How many recent epoch masks the newest one is compared with, plus one.',
      section: 'earlybird',
    },
    {
      kind: 'number',
      id: 'earlybird-epsilon',
      label: 'Distance ε',
      path: 'earlybird.epsilon',
      min: 0,
      max: 1,
      step: 0.01,
      placeholder: '0.1',
      hint: 'The ticket is drawn when the newest mask differs from each queued one in at most this share of channels.',
      section: 'earlybird',
    },
    {
      kind: 'number',
      id: 'earlybird-sparsity',
      label: 'BN sign-L1 strength s',
      path: 'earlybird.sparsity',
      min: 0,
      step: 0.0001,
      placeholder: '1e-4',
      hint: 'How hard network slimming pushes BatchNorm scales to zero, so channel ranks settle.',
      section: 'earlybird',
    },
    {
      kind: 'number',
      id: 'earlybird-retrain',
      label: 'Retraining epochs',
      path: 'earlybird.retrainEpochs',
      min: 0,
      step: 1,
      placeholder: 'rest of the schedule',
      hint: 'Epochs of training after pruning; empty continues to the end of the schedule.',
      section: 'earlybird',
    },
    {
      kind: 'number',
      id: 'earlybird-min-channels',
      label: 'Channels kept per layer, at least',
      path: 'earlybird.minChannels',
      min: 1,
      step: 1,
      placeholder: 'none (global ranking)',
      hint: 'Our guard, not the paper’s: each layer keeps at least this many of its strongest channels, so p cannot empty a layer.',
      section: 'earlybird',
      visibleWhen: (config) => !config.earlybird.unstructured,
    },
    {
      kind: 'boolean',
      id: 'earlybird-shrink',
      label: 'Cut pruned channels out',
      path: 'earlybird.shrink',
      hint: 'Retrain a smaller network without the pruned channels, as the paper does (faster per epoch); off zeroes them in the full-size network, for comparison.',
      section: 'earlybird',
      visibleWhen: (config) => !config.earlybird.unstructured,
    },
    {
      kind: 'boolean',
      id: 'earlybird-dense-baseline',
      label: 'Dense baseline',
      path: 'earlybird.denseBaseline',
      hint: 'Also train the network on unpruned from the ticket’s epoch to the end of the schedule, on the ticket’s batches: the dense accuracy its retrained ticket is compared with (costs the rest of the schedule at the dense rate).',
      section: 'earlybird',
      visibleWhen: (config) => config.method === 'earlybird',
    },
    {
      kind: 'boolean',
      id: 'earlybird-unstructured',
      label: 'Unstructured variant',
      path: 'earlybird.unstructured',
      hint: 'Our extension, not in the paper: the same detector on weight-magnitude masks.',
      section: 'earlybird',
    },
    { kind: 'note', text: 'Train with epochs (not iterations): the detector looks at the masks once per epoch.' },
  ],
};

export const EARLYBIRD_DIFFERENCES =
  'Conv-4-BN (Conv-4 with BatchNorm after every conv) instead of VGG-16 / PreResNet-101, and shipped quick configs with a scaled schedule; ' +
  'the mask is taken at each epoch end (the reference takes it at the next epoch start: the same weights); ' +
  'with earlybird.shrink off, pruning zeroes gamma, beta and the dead conv/dense kernel slices instead of building a slimmer network (same function, no speed-up); ' +
  'retraining continues the LR schedule with a fresh optimiser state; ' +
  'the dense baseline (earlybird.denseBaseline) is the search\'s network trained on unpruned from the ticket\'s epoch, with a fresh optimiser state and the retraining\'s batches, so it differs from the ticket only by the pruning. ' +
  'OUR guard, not in the paper: earlybird.minChannels makes every layer keep at least that many of its strongest channels (the global ranking can empty a layer). ' +
  'OUR extension, not in the paper: earlybird.unstructured runs the same detector on global weight-magnitude masks (IMP-style tickets drawn early).';

/** The views a ticket search emits (EarlyBird's and WORM's). */
export const TICKET_SEARCH_VIEWS = ['mask-distance', 'channel-masks', 'eb-comparison'] as const;

export const earlybirdSpec: MethodSpec<'earlybird', typeof EarlyBirdSchema> = {
  name: 'earlybird',
  summary:
    'Early-Bird tickets: train with sign-L1 on BN scales, stop when the channel mask of the smallest |gamma| stops changing, prune those channels and retrain.',
  differences: EARLYBIRD_DIFFERENCES,
  schema: EarlyBirdSchema,
  panels: [detectorPanel],
  help: {
    title: 'EarlyBird tickets',
    paragraphs: [
      'Training adds a sign-L1 push on the BatchNorm scales (network slimming). After every epoch the channels with the smallest |γ| over all layers at ratio p form a channel mask; when the newest mask differs from each of the last four in at most ε of the channels (normalised Hamming distance), the ticket is drawn, those channels are pruned and the network retrains for the rest of the schedule.',
      'Train with epochs, not iterations: the detector looks once per epoch. On narrow networks a high ratio can empty a whole layer; the run warns when it does.',
    ],
  },
  views: TICKET_SEARCH_VIEWS,
  runsBeside: true,
};
