/**
 * What a first visit runs, chosen to show a finding within about a minute:
 * a quarter-width Conv-2 on the easy built-in synthetic set is trained,
 * pruned in one step to 3% of its weights and rewound (the ticket), and a
 * random mask of the same per-layer sizes is trained beside it on the same
 * rewound weights. The learning rate is 15x the paper's so that 150
 * iterations learn the set. Its measured time and numbers are in the README (the first view).
 */
import file from '../../../experiments/first-ticket.json' with { type: 'json' };
import { identityText } from '../engine/identity';
import { parseConfig, type ExperimentConfig } from '../engine/config';

/** experiments/first-ticket.json, so the CLI runs the same experiment (`npm run experiment -- experiments/first-ticket.json`). */
export const LAB_DEFAULTS: ExperimentConfig = parseConfig(file);

/** One sentence beside the first view: what to look at. */
export const FIRST_VIEW_CAPTION =
  'Press Run: in about a minute the accuracy chart shows a ticket (the network pruned to 3% of its weights and rewound to its start) ' +
  'ending well above a random mask of the same size trained the same way, at the far right of the chart.';

/** Whether `config` is still the first view's experiment (name, description and backend aside). */
export function isFirstView(config: ExperimentConfig | null): boolean {
  return config !== null && identityText(config) === identityText(LAB_DEFAULTS);
}
