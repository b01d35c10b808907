/** COLT's config block, option panel and help. It also reads `prune.rounds` as its upper bound on rounds. */
import * as v from 'valibot';
import type { MethodSpec } from '../spec';

const openFraction = v.pipe(v.number(), v.minValue(0), v.maxValue(0.999));

export const ColtSchema = v.strictObject({
  segments: v.optional(v.pipe(v.number(), v.integer(), v.minValue(2)), 2),
  rate: v.optional(openFraction, 0.15),
  /** Also prune the hidden dense layers (never the output: the segments' heads share no weights to intersect). */
  pruneDense: v.optional(v.boolean(), false),
  /** Stop once the intersected mask removes this fraction of the pruned layers' weights (reference: 0.991). */
  targetSparsity: v.optional(openFraction),
  /** Train the full C-way network from θ0 under every round's mask (one extra training run per round); else only the final ticket. */
  evaluateEveryRound: v.optional(v.boolean(), true),
  /** Also run IMP with the same network, seed, budget and global rule over the same layers at the same rate (series 'imp'). */
  compareWithImp: v.optional(v.boolean(), true),
});

export const coltSpec: MethodSpec<'colt', typeof ColtSchema> = {
  name: 'colt',
  summary: 'COLT: one model per class segment from the same init; keep only the weights every model keeps, rewind, repeat.',
  differences:
    'The K heads are column slices of one C-way θ0 head rather than separate inits. The ticket is judged by training the full network ' +
    'from θ0 under the mask for the same schedule, every round by default, reporting the final and the minimum-validation-loss ' +
    'accuracy rather than the best test epoch. The IMP comparison prunes the same layers globally at the same rate.',
  schema: ColtSchema,
  panels: [
    {
      title: 'COLT',
      section: 'colt',
      items: [
        {
          kind: 'number',
          id: 'colt-segments',
          label: 'Class segments K',
          path: 'colt.segments',
          min: 2,
          step: 1,
          placeholder: '2',
          hint: 'How many models, each trained on its own contiguous range of classes.',
          section: 'colt',
        },
        {
          kind: 'number',
          id: 'colt-rate',
          label: 'Pruned per model per round',
          path: 'colt.rate',
          min: 0,
          max: 0.999,
          step: 0.01,
          placeholder: '0.15',
          hint: 'Share of surviving conv weights each model prunes before the masks are intersected.',
          section: 'colt',
        },
        {
          kind: 'number',
          id: 'colt-target',
          label: 'Target sparsity',
          path: 'colt.targetSparsity',
          min: 0,
          max: 0.999,
          step: 0.01,
          placeholder: 'none',
          hint: 'Stop once the intersected mask removes this share of the pruned layers’ weights.',
          section: 'colt',
        },
        {
          kind: 'number',
          id: 'colt-rounds',
          label: 'Rounds at most',
          path: 'prune.rounds',
          min: 0,
          step: 1,
          placeholder: '5',
          hint: 'Upper bound on prune-and-rewind rounds.',
          section: 'colt',
        },
        {
          kind: 'boolean',
          id: 'colt-prune-dense',
          label: 'Prune dense layers',
          text: 'Also prune the hidden dense layers',
          path: 'colt.pruneDense',
          hint: 'Also prune the hidden dense layers; the reference prunes conv layers only.',
          section: 'colt',
        },
        {
          kind: 'boolean',
          id: 'colt-every-round',
          label: 'Evaluate every round',
          text: "Evaluate every round's ticket as a full network",
          path: 'colt.evaluateEveryRound',
          hint: 'Train every round’s ticket as a full network (one extra training per round), not just the last.',
          section: 'colt',
        },
        {
          kind: 'boolean',
          id: 'colt-compare',
          label: 'Compare with IMP',
          text: 'Also run IMP on the same layers at the same rate',
          path: 'colt.compareWithImp',
          hint: 'Also run IMP on the same layers at the same rate and budget.',
          section: 'colt',
        },
      ],
    },
  ],
  help: {
    title: 'COLT',
    paragraphs: [
      'The classes are split into K contiguous segments; one model per segment trains from the same initialisation, each prunes its smallest conv weights, and only the weights every model keeps survive (the AND of the masks). All models rewind to the initialisation and repeat.',
      'Because the AND removes the union of what each model prunes, a round removes more than the per-model rate, so COLT reaches a sparsity in fewer rounds than IMP. Each round’s ticket is judged as a full network trained on all the classes; IMP runs beside it on the same budget.',
      '“Weights remaining” counts every prunable weight wherever it appears (live progress, the accuracy chart, the results table), and COLT prunes conv layers only by default, so its points sit near 100%; COLT’s own views (overlap, rounds to sparsity) count the pruned layers and say so.',
    ],
  },
  views: ['colt-overlap', 'rounds-to-sparsity'],
  runsBeside: true,
};
