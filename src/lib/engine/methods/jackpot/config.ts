/** Lottery Jackpots' config block, option panel and help. The dense pre-training reads the shared `train` block. */
import * as v from 'valibot';
import type { MethodSpec } from '../spec';

export const JackpotSchema = v.strictObject({
  /** Fraction of the pruned layers' weights removed (conv and hidden dense; the output layer stays dense). */
  sparsity: v.optional(v.pipe(v.number(), v.gtValue(0), v.maxValue(0.999)), 0.9),
  /** Epochs of mask search, and of every arm beside it. */
  epochs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 30),
  /** SGD on the scores: the reference's lr 0.1, momentum 0.9, weight decay 5e-4, cosine over `epochs`. */
  lr: v.optional(v.pipe(v.number(), v.gtValue(0)), 0.1),
  momentum: v.optional(v.pipe(v.number(), v.minValue(0), v.maxValue(1)), 0.9),
  weightDecay: v.optional(v.pipe(v.number(), v.minValue(0)), 5e-4),
  /** The flip cap: `constant` 1 as the released code; `cosine` from 1 to 0 over the search is our reading. */
  rate: v.optional(v.picklist(['constant', 'cosine']), 'constant'),
  /** Also search from random scores on the same weights and budgets (the "magnitude init saves ≥3×" claim). */
  randomScores: v.optional(v.boolean(), true),
  /** Also fine-tune the weights under the magnitude mask for as many steps (the ordinary baseline). */
  finetune: v.optional(v.boolean(), true),
});

export const jackpotSpec: MethodSpec<'jackpot', typeof JackpotSchema> = {
  name: 'jackpot',
  summary: 'Lottery Jackpots: on a pre-trained network, search a mask by training scores only; no weight changes.',
  differences:
    'Hidden dense layers join the global magnitude threshold with the conv layers (the reference nets have none); the output layer stays dense as in the reference. ' +
    'The flip cap is 1 as the released code; its cosine schedule is our reading of dead code. ' +
    'The fine-tuning arm trains the weights with the pre-training optimiser and learning rate for the search’s number of steps. ' +
    'Accuracies are at the end of each arm (the reference reports the best test epoch).',
  schema: JackpotSchema,
  panels: [
    {
      title: 'Lottery Jackpots',
      section: 'jackpot',
      items: [
        {
          kind: 'number',
          id: 'jackpot-sparsity',
          label: 'Sparsity',
          path: 'jackpot.sparsity',
          min: 0.01,
          max: 0.999,
          step: 0.01,
          placeholder: '0.9',
          hint: 'Share of the conv and hidden dense weights removed, by one magnitude threshold over them; the output layer stays dense.',
          section: 'jackpot',
        },
        {
          kind: 'number',
          id: 'jackpot-epochs',
          label: 'Search epochs',
          path: 'jackpot.epochs',
          min: 1,
          step: 1,
          placeholder: '30',
          hint: 'Epochs of score training after pre-training; every arm beside the search gets as many.',
          section: 'jackpot',
        },
        {
          kind: 'number',
          id: 'jackpot-lr',
          label: 'Score learning rate',
          path: 'jackpot.lr',
          min: 0,
          step: 0.01,
          placeholder: '0.1',
          hint: 'SGD with momentum on the scores, cosine to 0; much smaller and the 0.01 gap between kept and pruned scores is never crossed.',
          section: 'jackpot',
        },
        {
          kind: 'select',
          id: 'jackpot-rate',
          label: 'Flip cap',
          path: 'jackpot.rate',
          options: [
            { value: 'constant', label: '1 (released code)' },
            { value: 'cosine', label: 'cosine 1 → 0 (our reading)' },
          ],
          hint: 'Share of the wanted swaps made per step: 1 as the released code, or a cosine schedule (our reading of the paper’s short restriction).',
          section: 'jackpot',
        },
        {
          kind: 'boolean',
          id: 'jackpot-random-scores',
          label: 'Random-score arm',
          text: 'Also search from random scores',
          path: 'jackpot.randomScores',
          hint: 'Search again from edge-popup’s random scores on the same weights and budgets, to see what the magnitude start saves.',
          section: 'jackpot',
        },
        {
          kind: 'boolean',
          id: 'jackpot-finetune',
          label: 'Fine-tuning arm',
          text: 'Also fine-tune the magnitude-pruned weights',
          path: 'jackpot.finetune',
          hint: 'Train the weights under the magnitude mask for the same steps: the ordinary prune-and-fine-tune baseline.',
          section: 'jackpot',
        },
      ],
    },
  ],
  help: {
    title: 'Lottery Jackpots',
    paragraphs: [
      'Lottery Jackpots (Zhang et al., TPAMI 2023) start from a trained dense network and search only for a mask: weights, biases and BatchNorm scales and shifts never change (the run hashes them before and after and reports weightsUnchanged), while BatchNorm running statistics keep adapting in training mode.',
      'The network is pre-trained with the Training settings (and kept for the session, so a second search on the same settings does not train it again), or taken from an imported .safetensors ticket (Import ticket in the page, --ticket on the command line) (its weights; its masks are ignored). A network of another architecture, width or class count is refused before anything trains.',
      'One magnitude threshold over the conv and hidden dense layers at the target sparsity fixes how many weights each layer keeps; the output layer stays dense. Every weight gets a score, 1.0 where magnitude pruning keeps it and 0.99 where it prunes it. SGD with momentum and weight decay trains the scores through a straight-through estimator (the score gradient is the weight gradient times the weight), with a cosine schedule. After every step a layer swaps pruned weights that now outscore kept ones, one for one, so its kept count never changes; when ties make the two counts differ, nothing swaps that step.',
      'Beside the search, on the same budget: the magnitude mask alone, the same after re-estimating BatchNorm statistics for one epoch (part of the recovery may be this alone), a search from random scores, and fine-tuning the weights under the magnitude mask. The view draws each arm’s accuracy over the search epochs and how much of the magnitude mask the searched mask still keeps.',
      'The reference codes report the best test accuracy over epochs; the lab reports each arm at its end, so expect a few tenths lower for that alone.',
    ],
  },
  views: ['jackpot-search'],
  runsBeside: true,
  takesTicket: 'optional',
};
