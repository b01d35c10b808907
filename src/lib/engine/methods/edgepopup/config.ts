/** edge-popup's config block, option panel and help (strong tickets: a mask searched on frozen random weights). */
import * as v from 'valibot';
import { classListSchema } from '../../data/task';
import type { MethodSpec } from '../spec';

const K_MESSAGE = 'k is the fraction of weights kept in every layer: it must be above 0 and at most 1';
const keptFraction = v.pipe(v.number(), v.gtValue(0, K_MESSAGE), v.maxValue(1, K_MESSAGE));

export const WEIGHT_INITS = ['signed-constant', 'kaiming-normal'] as const;
export type WeightInit = (typeof WEIGHT_INITS)[number];

export const EdgePopupSchema = v.strictObject({
  /** Fraction of weights kept per layer, every layer including the first and the last: the ticket's k. */
  k: v.optional(keptFraction, 0.5),
  /** More k to search on the same random weights, one search each, for the accuracy-vs-k curve. */
  sweep: v.optional(v.array(keptFraction), []),
  /** The frozen random weights: signed Kaiming constant (the paper's best) or Kaiming normal. */
  weightInit: v.optional(v.picklist(WEIGHT_INITS), 'signed-constant'),
  /** SGD on the scores, cosine schedule over the run (the reference: 0.1, momentum 0.9, weight decay 1e-4 on the scores). */
  lr: v.optional(v.pipe(v.number(), v.gtValue(0)), 0.1),
  momentum: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1)), 0.9),
  weightDecay: v.optional(v.pipe(v.number(), v.minValue(0)), 1e-4),
  /** Also train the dense network's weights from the same random weights on the same budget (the reference's SGD baseline). */
  denseBaseline: v.optional(v.boolean(), true),
  /** The dense baseline's SGD learning rate, cosine schedule (the reference: 0.01). */
  denseLr: v.optional(v.pipe(v.number(), v.gtValue(0)), 0.01),
  /**
   * The universal-ticket transfer test: search on the source classes, then
   * reuse the ticket with a fresh head trained on the target classes.
   */
  transfer: v.optional(
    v.strictObject({
      source: classListSchema,
      target: classListSchema,
      /** Adam's learning rate for the fresh heads (logistic regression on frozen features). */
      headLr: v.optional(v.pipe(v.number(), v.gtValue(0)), 1e-3),
    }),
  ),
});

export const edgepopupSpec: MethodSpec<'edgepopup', typeof EdgePopupSchema> = {
  name: 'edgepopup',
  summary: 'Strong tickets (edge-popup): never train a weight; learn a score per weight and keep the top k of every layer of a random network.',
  differences:
    'Weights are the lab’s conv nets with their biases (and any BN affine parameters) frozen at their initial values (zero biases act as none), ' +
    'rather than the reference’s bias-free layers. Accuracy is reported at the end of the search and at the validation early stop, not as the best test epoch over training. ' +
    'The “scaled” initialisations (fan scaled by k) are not offered. The schedule runs over the configured budget, not the reference’s 100 epochs.',
  schema: EdgePopupSchema,
  panels: [
    {
      title: 'edge-popup',
      section: 'edgepopup',
      items: [
        {
          kind: 'number',
          id: 'edgepopup-k',
          label: 'Kept per layer k',
          path: 'edgepopup.k',
          min: 0.01,
          max: 1,
          step: 0.05,
          placeholder: '0.5',
          hint: 'Fraction of the weights every layer keeps, the first and last included; 1 is the untouched random network.',
          section: 'edgepopup',
        },
        {
          kind: 'numbers',
          id: 'edgepopup-sweep',
          label: 'Also search at k',
          path: 'edgepopup.sweep',
          min: 0.01,
          max: 1,
          placeholder: 'none, e.g. 0.1, 0.3, 0.7, 1',
          hint: 'More k values, each searched on the same random weights, for the accuracy-vs-k curve.',
          section: 'edgepopup',
        },
        {
          kind: 'select',
          id: 'edgepopup-init',
          label: 'Random weights',
          path: 'edgepopup.weightInit',
          options: [
            { value: 'signed-constant', label: 'Signed Kaiming constant (±√(2/fan-in))' },
            { value: 'kaiming-normal', label: 'Kaiming normal' },
          ],
          hint: 'The frozen weights the mask is searched in; the paper finds signed constants best.',
          section: 'edgepopup',
        },
        {
          kind: 'number',
          id: 'edgepopup-lr',
          label: 'Score learning rate',
          path: 'edgepopup.lr',
          min: 0,
          step: 0.01,
          placeholder: '0.1',
          hint: 'SGD with momentum on the scores, annealed by a cosine over the run.',
          section: 'edgepopup',
        },
        {
          kind: 'number',
          id: 'edgepopup-weight-decay',
          label: 'Score weight decay',
          path: 'edgepopup.weightDecay',
          min: 0,
          step: 0.0001,
          placeholder: '0.0001',
          hint: 'L2 on the scores, as the reference applies it.',
          section: 'edgepopup',
        },
        {
          kind: 'boolean',
          id: 'edgepopup-dense',
          label: 'Dense baseline',
          text: 'Also train the dense network on the same budget',
          path: 'edgepopup.denseBaseline',
          hint: 'Train every weight of the same random network (SGD, cosine) for the line on the accuracy-vs-k chart.',
          section: 'edgepopup',
        },
      ],
    },
  ],
  help: {
    title: 'Strong tickets (edge-popup)',
    paragraphs: [
      'edge-popup (Ramanujan et al., CVPR 2020) asks whether a randomly initialised network already contains a good subnetwork. No weight is ever trained: every weight gets a score, each layer keeps the fraction k of its weights with the largest |score|, and the scores learn by SGD through a straight-through estimator (the gradient of the masked weight, times the weight, times the score’s sign). The run checks that every weight, bias and BN parameter is bit-identical at the end (weightsUnchanged).',
      'The weights are signed Kaiming constants by default (each ±√(2/fan-in) with a random sign), as the paper’s best setting; the lab’s own Glorot initialisation would make the method look worse for a reason unrelated to it. Scores start uniform in ±1/√fan-in. Use SGD on the scores with a cosine schedule, and crop-and-flip augmentation as the reference does.',
      'Expect an inverted U over k: k = 1 keeps every weight of the untouched random network and sits at chance; small k leaves too few weights; in between the searched mask is far above chance. The untrained mask (random scores) at any k is also at chance. The mask-change view shows the share of weights entering or leaving the mask each epoch, which falls as the search settles.',
      'Papers report the best test accuracy over 100 epochs; the lab reports the end of its (much shorter) budget and the validation early stop, so expect lower numbers here.',
    ],
  },
  views: ['accuracy-vs-k', 'mask-change', 'transfer'],
  runsBeside: false,
};
