/** WORM's config block, option panel and help. Its detector settings are EarlyBird's block. */
import * as v from 'valibot';
import { EARLYBIRD_DIFFERENCES, TICKET_SEARCH_VIEWS, detectorPanel } from '../earlybird/config';
import type { MethodSpec } from '../spec';

const fraction = v.pipe(v.number(), v.minValue(0), v.maxValue(1));

export const WormSchema = v.strictObject({
  chiMode: v.optional(v.picklist(['paper', 'fixed', 'greedy']), 'paper'),
  /** chi once the mean queue distance falls below `threshold` (paper mode). */
  chiLow: v.optional(fraction, 0.003),
  threshold: v.optional(fraction, 0.15),
  /** chi used throughout in fixed mode (the code's ablation). */
  chiFixed: v.optional(fraction, 0.1),
  /** Also run plain EarlyBird from the same seed and data, so one run yields the EB-vs-WORM table. */
  compareWithEarlyBird: v.optional(v.boolean(), true),
});

export const wormSpec: MethodSpec<'worm', typeof WormSchema> = {
  name: 'worm',
  summary:
    'WORM: EarlyBird with the BN gradients of channels about to be pruned damped by chi, so the ticket settles sooner; run beside plain EarlyBird from the same seed.',
  differences:
    EARLYBIRD_DIFFERENCES +
    ' WORM: the detector settings (p, queue, epsilon) come from the earlybird block, whose defaults are WORM\'s 0.5 / 5 / 0.1; ' +
    'the sign-L1 slimming term stays on as in the EarlyBird code WORM builds on, so damping is the only difference from the EarlyBird run; ' +
    'chi is only updated on epochs without a ticket, and before the queue is full no mean distance exists (chi 1, or chiFixed in fixed mode).',
  schema: WormSchema,
  panels: [
    detectorPanel,
    {
      title: 'WORM damping',
      section: 'worm',
      items: [
        {
          kind: 'select',
          id: 'worm-chi-mode',
          label: 'chi schedule',
          path: 'worm.chiMode',
          options: [
            { value: 'paper', label: 'Paper: 1, then 0.003 once the mean distance is below the threshold' },
            { value: 'fixed', label: "Fixed chi (the code's ablation)" },
            { value: 'greedy', label: 'Greedy: chi = mean distance every epoch (ablation)' },
          ],
          hint: 'How much gradient the channels about to be pruned still get.',
          section: 'worm',
        },
        {
          kind: 'number',
          id: 'worm-chi-low',
          label: 'Low chi',
          path: 'worm.chiLow',
          min: 0,
          max: 1,
          step: 0.001,
          placeholder: '0.003',
          hint: 'The damping factor once the masks have nearly settled (the paper: 0.003).',
          section: 'worm',
        },
        {
          kind: 'number',
          id: 'worm-threshold',
          label: 'Distance threshold',
          path: 'worm.threshold',
          min: 0,
          max: 1,
          step: 0.01,
          placeholder: '0.15',
          hint: 'Mean queue distance below which chi drops to its low value (the paper: 0.15).',
          section: 'worm',
        },
        {
          kind: 'number',
          id: 'worm-chi-fixed',
          label: 'Fixed chi',
          path: 'worm.chiFixed',
          min: 0,
          max: 1,
          step: 0.01,
          placeholder: '0.1',
          hint: 'chi for the whole run in the fixed ablation.',
          section: 'worm',
        },
        {
          kind: 'boolean',
          id: 'worm-compare',
          label: 'Compare with EarlyBird',
          text: 'Also run plain EarlyBird from the same seed',
          path: 'worm.compareWithEarlyBird',
          hint: 'Also runs plain EarlyBird from the same seed for the side-by-side table.',
          section: 'worm',
        },
      ],
    },
  ],
  help: {
    title: 'WORM',
    paragraphs: [
      'The EarlyBird detector plus damping: the BatchNorm gradients of the channels the newest mask would prune are multiplied by χ, so those channels stop flickering in and out and the mask settles sooner. χ starts at 1 and drops to 0.003 once the mean queue distance is below the threshold.',
      'By default plain EarlyBird runs from the same seed beside it, so one run gives the comparison table: epochs to ticket, accuracy lost at pruning, accuracy after retraining.',
    ],
  },
  views: TICKET_SEARCH_VIEWS,
  runsBeside: true,
};
