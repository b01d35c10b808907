/** KS-Lottery's config block, option panel and help. `train` is the source pre-training's schedule; every target training runs `probeIterations`. */
import * as v from 'valibot';
import { classListSchema } from '../../data/task';
import type { MethodSpec } from '../spec';

const kEntry = v.pipe(
  v.number(),
  v.gtValue(0, 'K must be above 0: a share of the rows (below 1) or a number of rows (a whole number from 1)'),
  v.check((k) => k < 1 || Number.isInteger(k), 'K from 1 up counts rows and must be a whole number (write shares of the rows below 1, e.g. 0.05)'),
);

export const KsLotterySchema = v.strictObject({
  /** The pre-training task's classes, relabelled 0..n-1 in this order. */
  source: v.optional(classListSchema, [0, 1, 2, 3, 4]),
  /** The new task's classes, learnt with a fresh head. */
  target: v.optional(classListSchema, [5, 6, 7, 8, 9]),
  /** Let source and target share classes (otherwise an overlap is refused as a likely mistake). */
  allowOverlap: v.optional(v.boolean(), false),
  /** `filters`: conv filters and dense units; `embedding`: the input rows of the first dense layer, probing only that layer and the head. */
  rows: v.optional(v.picklist(['filters', 'embedding']), 'filters'),
  alpha: v.optional(
    v.pipe(v.number(), v.gtValue(0, 'α must be inside (0, 1): it is the KS test’s significance level'), v.ltValue(1, 'α must be inside (0, 1): it is the KS test’s significance level')),
    0.05,
  ),
  /** The K sweep: shares of the rows (below 1) or numbers of rows (whole numbers). */
  k: v.optional(v.pipe(v.array(kEntry), v.minLength(1, 'the K sweep needs at least one K')), [0.01, 0.05, 0.1, 0.25]),
  /** Top-K and random rows over all layers at once (`global`) or the same share of every layer (`perLayer`). */
  scope: v.optional(v.picklist(['global', 'perLayer']), 'global'),
  /** Length of the probe fine-tuning and of every target training (head only, full, partial tuning). */
  probeIterations: v.optional(
    v.pipe(
      v.number(),
      v.integer(),
      v.minValue(1, 'the probe needs at least one iteration: with none, θ1 = θ0 and every row has D = 0'),
    ),
    300,
  ),
});

const ROWS_OPTIONS = [
  { value: 'filters', label: 'Conv filters and dense units (every hidden layer)' },
  { value: 'embedding', label: 'Embedding-faithful: input rows of the first dense layer' },
] as const;

const SCOPE_OPTIONS = [
  { value: 'global', label: 'Over all layers at once' },
  { value: 'perLayer', label: 'The same share of every layer' },
] as const;

export const kslotterySpec: MethodSpec<'kslottery', typeof KsLotterySchema> = {
  name: 'kslottery',
  summary: 'KS-Lottery: fine-tune on a new task, test every parameter row’s values before and after with the KS test, and tune or transplant only the rows that moved.',
  differences:
    'The paper tunes token-embedding rows of an LLM; here a row is a conv filter or dense unit of a small CNN (or, in the embedding-faithful variant, an input row of the first dense layer), ' +
    'the transfer is between CIFAR class subsets with a fresh head, and accuracy is the final test accuracy rather than translation quality. ' +
    'The p-value is SciPy’s ks_2samp asymptotic mode (Kolmogorov distribution at the effective size n·m/(n+m)); the certification bound is not computed. ' +
    'Frozen rows get zero gradients, so weight decay is refused; BatchNorm running statistics still adapt in BN networks.',
  schema: KsLotterySchema,
  panels: [
    {
      title: 'KS-Lottery',
      section: 'kslottery',
      items: [
        {
          kind: 'select',
          id: 'kslottery-rows',
          label: 'Rows',
          path: 'kslottery.rows',
          options: ROWS_OPTIONS,
          hint: 'What one tested row is: an output filter or unit, or an input row of the first dense layer as the paper’s token embeddings.',
          section: 'kslottery',
        },
        {
          kind: 'numbers',
          id: 'kslottery-source',
          label: 'Source classes',
          path: 'kslottery.source',
          min: 0,
          placeholder: '0, 1, 2, 3, 4',
          hint: 'The classes the network is pre-trained on.',
          section: 'kslottery',
        },
        {
          kind: 'numbers',
          id: 'kslottery-target',
          label: 'Target classes',
          path: 'kslottery.target',
          min: 0,
          placeholder: '5, 6, 7, 8, 9',
          hint: 'The new task, learnt with a fresh head; it may not share classes with the source unless allowed below.',
          section: 'kslottery',
        },
        {
          kind: 'boolean',
          id: 'kslottery-overlap',
          label: 'Allow overlap',
          text: 'Source and target may share classes',
          path: 'kslottery.allowOverlap',
          hint: 'Off: a class in both tasks is refused as a likely mistake.',
          section: 'kslottery',
        },
        {
          kind: 'number',
          id: 'kslottery-probe',
          label: 'Probe iterations',
          path: 'kslottery.probeIterations',
          min: 1,
          step: 1,
          placeholder: '300',
          hint: 'Length of the probe fine-tuning that gives θ1, and of every target training.',
          section: 'kslottery',
        },
        {
          kind: 'number',
          id: 'kslottery-alpha',
          label: 'α',
          path: 'kslottery.alpha',
          min: 0.0001,
          max: 0.9999,
          step: 0.01,
          placeholder: '0.05',
          hint: 'Rows with p < α are the certified ticket (uncorrected for the number of rows, as the paper).',
          section: 'kslottery',
        },
        {
          kind: 'numbers',
          id: 'kslottery-k',
          label: 'K sweep',
          path: 'kslottery.k',
          min: 0.001,
          placeholder: '0.01, 0.05, 0.1, 0.25',
          hint: 'Rows tuned per arm: shares of all rows (below 1) or numbers of rows.',
          section: 'kslottery',
        },
        {
          kind: 'select',
          id: 'kslottery-scope',
          label: 'Top-K over',
          path: 'kslottery.scope',
          options: SCOPE_OPTIONS,
          hint: 'Rank all rows together, or take the same share of every layer (short first-layer rows have noisy, large D).',
          section: 'kslottery',
        },
      ],
    },
  ],
  help: {
    title: 'KS-Lottery',
    paragraphs: [
      'KS-Lottery (Yuan et al., NAACL 2025) asks which parameters a new task needs. The network is pre-trained on the source classes (θ0), then fine-tuned briefly on the target classes with a fresh head (the probe, θ1). For every row, the two-sample Kolmogorov-Smirnov test compares the row’s values in θ0 with those in θ1; rows whose value distribution shifted are the ticket.',
      'Partial tuning restarts from θ0 with a fresh head and trains only the selected rows and the head: every other row gets a zero gradient and is checked bit for bit after training. Partial transfer puts the selected rows of θ1 (and θ1’s head) into θ0 and evaluates it without training. Controls at the same K: random rows, the K rows with the largest L2 change ‖θ1 − θ0‖, the head alone, and full fine-tuning.',
      'What the KS test cannot see: it compares the distributions of a row’s values, not which coordinate moved. A row whose values were permuted among its positions has D = 0, though the filter computes something else; the L2 control sees that change. Short rows (a first-layer filter has 27 values) need a large D to be significant, while long rows (dense units, thousands of values) become significant at tiny changes.',
      'Why top-K exists: with a long or fast probe almost every row shifts, so p < α selects nearly all of them and says little. Ranking by D and keeping the top K gives a budget; global top-K tends to fill up with short first-layer rows, whose D is large and noisy, which is why per-layer top-K is offered too.',
      'The pre-trained θ0 is kept for the page session (or the CLI process) per pre-training setting (seed, data, network, schedule, source classes), so changing only K, α or the probe reuses it.',
    ],
  },
  views: ['kslottery-accuracy', 'kslottery-rows'],
  runsBeside: false,
};
