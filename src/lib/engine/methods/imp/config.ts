/**
 * IMP's self-description. It has no block of its own: it reads the shared
 * `prune` block and `controls`, whose fields its panel edits.
 */
import type { LayerType } from '../../models/model';
import { ARCH_DEFINITIONS } from '../../models/registry';
import type { FieldSpec, MethodSpec, PanelSpec } from '../spec';

const RATE_FIELDS: { type: LayerType; label: string; hint: string }[] = [
  { type: 'conv', label: 'Conv layers', hint: 'Share of each conv layer’s surviving weights removed per round.' },
  { type: 'dense', label: 'Dense layers', hint: 'Share of each hidden dense layer’s surviving weights removed per round.' },
  {
    type: 'output',
    label: 'Output layer',
    hint: 'Share of the output layer’s surviving weights removed per round (paper: half the dense rate).',
  },
];

const layerwise = (config: { prune: { strategy: string } }) => config.prune.strategy === 'layerwise';

/** The pruning rule, its rounds and rewind point, and the paper's random controls. */
export const prunePanel: PanelSpec = {
  title: 'Pruning',
  section: 'pruning',
  items: [
    {
      kind: 'select',
      id: 'prune-strategy',
      label: 'Strategy',
      path: 'prune.strategy',
      options: [
        { value: 'layerwise', label: 'Layer-wise: each layer loses its rate (the paper)' },
        { value: 'global', label: 'Global: smallest weights across all layers' },
      ],
      hint: 'Layer-wise rates per layer (the paper), or one global magnitude threshold.',
      section: 'pruning',
    },
    {
      kind: 'number',
      id: 'prune-rounds',
      label: 'Pruning rounds',
      path: 'prune.rounds',
      min: 0,
      step: 1,
      placeholder: '5',
      hint: 'How many times to prune and retrain after the dense round.',
      section: 'pruning',
    },
    {
      kind: 'number',
      id: 'prune-rewind',
      label: 'Rewind to iteration',
      path: 'prune.rewindIteration',
      min: 0,
      step: 1,
      placeholder: '0 (initialisation)',
      hint: '0 resets survivors to their initial values (the original hypothesis); k > 0 to iteration k.',
      section: 'imp',
    },
    {
      kind: 'note',
      text: (config) => `Fraction of each layer's surviving weights removed per round; empty takes the paper's rate for ${config.model.arch}.`,
      visibleWhen: layerwise,
    },
    ...RATE_FIELDS.map(
      ({ type, label, hint }): FieldSpec => ({
        kind: 'number',
        id: `prune-rate-${type}`,
        label,
        path: `prune.rate.${type}`,
        min: 0,
        max: 0.999,
        step: 0.01,
        placeholder: (config) => String(ARCH_DEFINITIONS[config.model.arch].rates[type]),
        disabledWhen: type === 'conv' ? (config) => ARCH_DEFINITIONS[config.model.arch].convs.length === 0 : undefined,
        visibleWhen: layerwise,
        hint,
        section: 'pruning',
      }),
    ),
    {
      kind: 'number',
      id: 'prune-fraction',
      label: 'Fraction of surviving weights removed per round',
      path: 'prune.fraction',
      min: 0,
      max: 0.999,
      step: 0.01,
      placeholder: '0.2',
      visibleWhen: (config) => !layerwise(config),
      hint: 'Share of all surviving (non-output) weights removed per round by the global threshold.',
      section: 'pruning',
    },
    { kind: 'note', text: 'Controls, trained beside the ticket at every round:', section: 'imp' },
    {
      kind: 'member',
      id: 'control-randomReinit',
      label: 'Random reinit',
      path: 'controls',
      item: 'randomReinit',
      hint: 'The ticket’s mask on a fresh random initialisation: does the ticket need its own weights?',
      section: 'imp',
    },
    {
      kind: 'member',
      id: 'control-randomPrune',
      label: 'Random pruning',
      path: 'controls',
      item: 'randomPrune',
      hint: 'A random mask with the ticket’s layer densities: does the ticket need its own mask?',
      section: 'imp',
    },
  ],
};

export const impSpec: MethodSpec<'imp', null> = {
  name: 'imp',
  summary: 'Lottery tickets: train, prune the smallest weights, rewind the survivors to their early values, repeat.',
  differences: null,
  schema: null,
  panels: [prunePanel],
  help: {
    title: 'Lottery tickets (IMP) and their controls',
    paragraphs: [
      'Each round: train, prune, then reset every surviving weight, bias and BatchNorm parameter to the rewind point, and train again. Rewind iteration 0 is the original lottery-ticket hypothesis; k > 0 is late resetting, which the paper needs for deeper networks.',
      'The ticket is the mask together with those rewind values. The paper’s two controls test that both matter: random reinit keeps the mask but draws fresh weights; random pruning keeps the weights but draws a random mask with each layer’s density. Both train the ticket’s schedule from the rewind iteration, as open_lth does. A winning ticket stays accurate (and learns faster) at sparsities where both controls fall off.',
    ],
  },
  views: [],
  runsBeside: true,
};
