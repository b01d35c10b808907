/** SuperTickets' config block, option panel and help. The supernet itself is the MODEL block's `model.branches`. */
import * as v from 'valibot';
import { classListSchema } from '../../data/task';
import type { MethodSpec } from '../spec';

const share = (what: string) => v.pipe(v.number(), v.minValue(0), v.maxValue(1, `${what} is a share of the run, at most 1`));

export const SuperTicketsSchema = v.strictObject({
  /** Share of the prunable weights pruned at the end (the reference: 0.9). */
  targetSparsity: v.optional(
    v.pipe(
      v.number(),
      v.gtValue(0, 'supertickets.targetSparsity must be above 0'),
      v.ltValue(1, 'supertickets.targetSparsity must be below 1: a target of 1 would prune every weight and leave nothing to train'),
    ),
    0.9,
  ),
  /** Sparsity added per prune event: 0.1 gives 10%, 20%, ... up to the target. */
  increment: v.optional(v.pipe(v.number(), v.gtValue(0), v.maxValue(1)), 0.1),
  /** Prune events, evenly spaced; the run is split in events + 1 parts (the reference: 10% per 25 of 350 epochs, about 11 events past 90%). */
  events: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 11),
  /** Strength of the FLOP-weighted sign-L1 term on the branch BN scales. */
  rho: v.optional(v.pipe(v.number(), v.minValue(0)), 1e-3),
  /** Share of the steps over which rho rises linearly from 0 (the reference: 25 of 350 epochs). */
  warmup: v.optional(share('supertickets.warmup'), 0.1),
  /** A branch channel is removed when its |gamma| is at most this share of the largest |gamma| of its stage. */
  channelThreshold: v.optional(
    v.pipe(v.number(), v.minValue(0), v.ltValue(1, 'supertickets.channelThreshold must be below 1: a stage would lose even its strongest channel')),
    0.01,
  ),
  /** Two-stage arm: share of the steps that only search, before the one-shot prune and fine-tuning (the notes: 0.6). */
  twoStageSearch: v.optional(v.pipe(v.number(), v.gtValue(0), v.ltValue(1)), 0.6),
  /** The comparison arms to run beside two-in-one. */
  compareTwoStage: v.optional(v.boolean(), true),
  compareMonotone: v.optional(v.boolean(), true),
  compareRandomMask: v.optional(v.boolean(), true),
  compareImp: v.optional(v.boolean(), true),
  /**
   * The transfer test (off unless both are set): the run draws its ticket on
   * the source classes, then the ticket (architecture + mask) trains on the
   * target classes beside a ticket drawn there.
   */
  transferSource: v.optional(classListSchema),
  transferTarget: v.optional(classListSchema),
  /** The transfer test also trains the dense supernet on the target. */
  transferDense: v.optional(v.boolean(), true),
});

export const superticketsSpec: MethodSpec<'supertickets', typeof SuperTicketsSchema> = {
  name: 'supertickets',
  summary: 'SuperTickets: search kernel sizes and widths (FLOP-weighted sign-L1 on branch BN scales) and prune weights progressively in one supernet run.',
  differences:
    'A Conv-4-BN supernet (parallel 3x3/5x5 branches per conv stage) stands in for the reference’s HR-NAS supernet. Channels are removed ' +
    'when |gamma| falls below a share of their stage’s largest |gamma| (default 1%), not below the reference’s absolute 1e-3, which a run of ' +
    'a few thousand steps never reaches; removal is checked at every prune event, not every few epochs, and needs no minimum FLOP saving. ' +
    'Regrow mode steps as the reference’s masked layers do (its set_zeros is a no-op): a pruned weight gets no task gradient, and the ' +
    'optimiser’s momentum (or Adam state) and weight decay go on moving its own value, which the lab keeps aside while the network computes ' +
    'with 0 in its place; the monotone and other arms zero pruned weights for good. The lab’s optimiser, batch size and learning rate replace RMSprop with EMA and label smoothing; no BN recalibration before ' +
    'evaluation. The IMP arm is one-shot IMP on the same arch without branches (two trainings), not the iterative schedule.' +
    'The transfer test moves the ticket (architecture + mask) between class subsets of one data set and retrains it from its initial weights; the reference’s transfer.py also moves the trained weights.',
  schema: SuperTicketsSchema,
  panels: [
    {
      title: 'SuperTickets',
      section: 'supertickets',
      items: [
        {
          kind: 'numbers',
          id: 'supertickets-branches',
          label: 'Branch kernel sizes',
          path: 'model.branches',
          min: 1,
          max: 7,
          placeholder: '3, 5',
          hint: 'Odd kernel sizes of the parallel branches every conv stage has (the supernet); needs conv-4-bn.',
          section: 'supertickets',
        },
        {
          kind: 'number',
          id: 'supertickets-target',
          label: 'Target sparsity',
          path: 'supertickets.targetSparsity',
          min: 0.01,
          max: 0.99,
          step: 0.01,
          placeholder: '0.9',
          hint: 'Share of the weights pruned at the end; the events go 10%, 20%, ... up to it.',
          section: 'supertickets',
        },
        {
          kind: 'number',
          id: 'supertickets-events',
          label: 'Prune events',
          path: 'supertickets.events',
          min: 1,
          step: 1,
          placeholder: '11',
          hint: 'Evenly spaced events; each removes dead channels, then prunes weights to the next sparsity.',
          section: 'supertickets',
        },
        {
          kind: 'number',
          id: 'supertickets-rho',
          label: 'Search strength rho',
          path: 'supertickets.rho',
          min: 0,
          step: 0.0001,
          placeholder: '0.001',
          hint: 'Sign-L1 on the branch BN scales, times each branch’s FLOPs per channel over the average.',
          section: 'supertickets',
        },
        {
          kind: 'number',
          id: 'supertickets-threshold',
          label: 'Channel threshold',
          path: 'supertickets.channelThreshold',
          min: 0,
          max: 0.99,
          step: 0.01,
          placeholder: '0.01',
          hint: 'A channel goes when its |gamma| is at most this share of its stage’s largest.',
          section: 'supertickets',
        },
        {
          kind: 'boolean',
          id: 'supertickets-two-stage',
          label: 'Two-stage arm',
          text: 'Also search first, then prune once and fine-tune',
          path: 'supertickets.compareTwoStage',
          hint: 'Search only for 60% of the steps, cut, prune once to the target, fine-tune the rest.',
          section: 'supertickets',
        },
        {
          kind: 'boolean',
          id: 'supertickets-monotone',
          label: 'Monotone arm',
          text: 'Also run with pruned weights staying pruned',
          path: 'supertickets.compareMonotone',
          hint: 'The same run with no regrowth: a pruned weight never comes back.',
          section: 'supertickets',
        },
        {
          kind: 'boolean',
          id: 'supertickets-random',
          label: 'Random-mask arm',
          text: 'Also train a random mask on the searched architecture',
          path: 'supertickets.compareRandomMask',
          hint: 'The searched architecture from a fresh init under a random mask of the same per-layer density.',
          section: 'supertickets',
        },
        {
          kind: 'boolean',
          id: 'supertickets-imp',
          label: 'IMP arm',
          text: 'Also run one-shot IMP on the arch without branches',
          path: 'supertickets.compareImp',
          hint: 'One-shot IMP to the target sparsity on the same arch without branches.',
          section: 'supertickets',
        },
        {
          kind: 'numbers',
          id: 'supertickets-transfer-source',
          label: 'Transfer: source classes',
          path: 'supertickets.transferSource',
          min: 0,
          placeholder: 'none (no transfer), e.g. 0, 1, 2, 3, 4',
          hint: 'With target classes, the whole run draws its ticket on these classes only; set the IMP arm off.',
          section: 'supertickets',
        },
        {
          kind: 'numbers',
          id: 'supertickets-transfer-target',
          label: 'Transfer: target classes',
          path: 'supertickets.transferTarget',
          min: 0,
          placeholder: 'none, e.g. 5, 6, 7, 8, 9',
          hint: 'The ticket (architecture + mask) trains on these classes beside a ticket drawn there, on the same budget.',
          section: 'supertickets',
        },
        {
          kind: 'boolean',
          id: 'supertickets-transfer-dense',
          label: 'Transfer: dense arm',
          text: 'Also train the dense supernet on the target',
          path: 'supertickets.transferDense',
          hint: 'The unpruned, unsearched supernet on the target classes, for reference.',
          section: 'supertickets',
          visibleWhen: (config) => config.supertickets.transferTarget !== undefined,
        },
      ],
    },
  ],
  help: {
    title: 'SuperTickets',
    paragraphs: [
      'One training run of a supernet searches the architecture and prunes its weights at once ("two-in-one", You et al., ECCV 2022). Every conv stage has parallel branches (3x3 and 5x5 by default), each with its own BatchNorm and ReLU, summed. A sign-L1 term on the branch BN scales, weighted by what a channel of that branch costs in FLOPs (a 5x5 channel is pushed 25/9 as hard as a 3x3 one), warms up over the first steps; at each event, channels whose scale fell below a share of their stage’s largest are cut out of the network, and a branch with no channel left disappears: the search chooses kernel sizes and widths.',
      'The same events prune the weights by global magnitude, 10%, 20%, ... up to the target. In regrow mode (the reference code’s behaviour) a pruned weight keeps its own value, which gets no task gradient but is still moved by the optimiser’s momentum and weight decay, and competes again at the next event, so a connection can come back; the monotone arm never brings one back. A connection can come back only at an event that does not raise the sparsity: the events past the target, and only where the same event’s channel cut did not take more pruned weights than kept ones (the share is of the weights left). Each event records its sparsity, the regrowth (share of the new mask the previous one pruned), the channels alive per branch, FLOPs of the network as it stands, weights kept and accuracy.',
      'The arms on the same schedule: two-stage (search only, then cut, one-shot prune and fine-tune), monotone masks, a random mask of the same per-layer density on the searched architecture from a fresh init, and one-shot IMP on the arch without branches. FLOPs count the architecture (dense); "params" counts the weights the mask keeps.',
      'The ticket (download it as .safetensors) is the two-in-one network: its architecture (branches and channels per branch), its final mask, and its initial weights; importing it rebuilds that network and retrains it.',
      'Transfer test (source and target classes set): the whole run draws its tickets on the source classes. Then, on the target classes and the same budget: the source ticket (architecture + mask, from its initial weights) is trained, SuperTickets draws a ticket on the target itself (two-in-one), and, optionally, the dense supernet is trained. As in the reference’s transfer.py the moved ticket keeps its mask and trains; unlike it, the tasks are class subsets of one data set and the weights restart from initialisation rather than from the source’s trained values.',
    ],
  },
  views: ['supertickets'],
  runsBeside: false,
};
