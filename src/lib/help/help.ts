/**
 * The lab's in-app help as data: one section per group of builder controls
 * and one per registered method, and a one-line explanation of every
 * control keyed by the control's test id, so the builder shows the same line
 * the help lists. Method sections and control lines come from the method
 * registry and the field metadata (config-fields.ts, each method's
 * config.ts): nothing here repeats them.
 */
import { DATA_FIELDS, NETWORK_PANEL, TRAINING_PANEL } from '../engine/config-fields';
import { METHOD_REGISTRY, isMethodName, type MethodName } from '../engine/methods/registry';
import { fieldsOf } from '../engine/methods/spec';

/** Sections about the page and the shared config, before and after the methods'. */
const LEADING_SECTION_IDS = ['presets', 'data', 'model', 'training', 'pruning'] as const;
const TRAILING_SECTION_IDS = ['backends', 'charts', 'exports', 'sweeps'] as const;

/** A method's own further section (`MethodSpec.helpSections`), such as `ownership-blackbox`. */
type MethodTopicId = `${MethodName}-${string}`;

export type HelpSectionId = (typeof LEADING_SECTION_IDS)[number] | MethodName | MethodTopicId | (typeof TRAILING_SECTION_IDS)[number];

/** Each method's section, then its further sections. */
const METHOD_SECTIONS: HelpSection[] = Object.values(METHOD_REGISTRY).flatMap((method): HelpSection[] => [
  { id: method.name, method: method.name, ...method.help },
  ...(method.helpSections ?? []).map((topic) => ({ ...topic, id: topic.id as MethodTopicId })),
]);

export const HELP_SECTION_IDS: readonly HelpSectionId[] = [...LEADING_SECTION_IDS, ...METHOD_SECTIONS.map((section) => section.id), ...TRAILING_SECTION_IDS];

export interface HelpSection {
  id: HelpSectionId;
  title: string;
  paragraphs: readonly string[];
  /** The registry method this section explains; its summary and departures from the paper lead the section. */
  method?: MethodName;
}

export interface ControlHelp {
  /** What the control is called in the builder. */
  name: string;
  /** One line: what it does, and when to change it. */
  line: string;
  section: HelpSectionId;
}

/** The help section that explains a method; the pruning section for a name that is not a registered method. */
export function methodSection(name: string): HelpSectionId {
  return isMethodName(name) ? name : 'pruning';
}

export const HELP_SECTIONS: readonly HelpSection[] = [
  {
    id: 'presets',
    title: 'Classroom presets',
    paragraphs: [
      'Each preset asks one question and loads an experiment on the easy built-in synthetic set. Choosing one replaces the whole builder; press Run.',
      'A preset runs on several seeds, one after another from one Run press, and the chart draws each series as the mean over the seeds with a band from the lowest to the highest; "Quick run" trains the first seed only.',
      'While the builder still holds the preset unchanged, its guidance shows above the charts: what to look for until its runs have finished, then what they showed, in their own numbers as mean ± half the band, and whether the bands the finding rests on are apart or overlap. Edit any field and it becomes your own experiment.',
      'Each preset is a file in experiments/presets/ of the lab’s repository: npm run experiment -- experiments/presets/<name>.json runs the same experiment on the command line.',
    ],
  },
  {
    id: 'data',
    title: 'Data',
    paragraphs: [
      'The built-in synthetic set is generated from the seed in the page: 32×32 colour images of 10 shape families with random position, scale, rotation, palettes, textured backgrounds and noise. It needs no download. Standard difficulty adds clutter, occluding bars and shapes cut off by the edge and is harder than it looks; easy draws whole shapes on plain or gradient backgrounds, which a narrow Conv-2 learns in about a minute.',
      'CIFAR-10 and CIFAR-100 come from your own files: the official binary .tar.gz or its .bin files, picked here or dropped anywhere on the page. Files never go into the link; a shared link says which files it expects.',
      'A validation split is held out of the training images: the early-stop iteration is where its loss is lowest. With no validation images there is no early stop (it is never chosen on the test set), and the results say so.',
    ],
  },
  {
    id: 'model',
    title: 'Network',
    paragraphs: [
      'The lottery-ticket paper’s networks: LeNet-300-100 (fully connected), Conv-2/4/6 (3×3 convolutions, 2×2 max-pooling, then fc 256, 256, 10), and Conv-4-BN, Conv-4 with BatchNorm after every convolution, which EarlyBird and WORM need.',
      'Width scales every hidden layer: 0.25 has a quarter of the paper’s channels and units, roughly a sixteenth of the compute. Prunable weights are the conv and dense kernels; biases and BatchNorm are never pruned.',
    ],
  },
  {
    id: 'training',
    title: 'Training',
    paragraphs: [
      'Every round trains the (masked) network with the same schedule. Pruned weights are set to exactly zero after every optimiser step, whatever Adam, momentum or weight decay do.',
      'Short runs need larger learning rates than the paper’s full schedules: the presets use 6-15× the paper’s Adam rate for 60-200 iterations.',
      'Evaluation runs on the validation and test splits every few iterations; the early-stop iteration is the one with the lowest validation loss, and the accuracy there is the paper’s headline metric.',
    ],
  },
  {
    id: 'pruning',
    title: 'Pruning rules',
    paragraphs: [
      'Magnitude pruning removes the weights with the smallest absolute values among the survivors; a pruned weight never comes back.',
      'Layer-wise (the paper): each layer loses its own fraction per round (Conv-2/4: conv 10%, dense 20%; Conv-6: conv 15%; the output layer half the dense rate). Global (open_lth’s sparse_global): one threshold over all layers except the output, so layers with many small weights lose more.',
      'Weights remaining after n rounds at rate p is (1 − p)ⁿ: 5 rounds at 20% leave 33%.',
    ],
  },
  ...METHOD_SECTIONS,
  {
    id: 'backends',
    title: 'Backends: where training runs',
    paragraphs: [
      'Training runs in a Web Worker with TensorFlow.js: WebGPU on a real GPU; wasm (SIMD, threads on every core) where the only WebGPU adapter is a software one such as SwiftShader; then WebGL, then CPU. The header names the backend and the adapter, and says why when it had to fall back.',
      'Add ?backend=webgpu, webgl, wasm or cpu to the address to force one. On a laptop GPU the presets take a couple of minutes; on wasm on a 2-core CPU, a few.',
    ],
  },
  {
    id: 'charts',
    title: 'Charts and views',
    paragraphs: [
      'Accuracy vs weights remaining: one line per series (ticket, controls, or the methods compared), on a reversed log axis from 100% down as in the paper; solid is test accuracy at the end of training, dashed at the early-stop iteration.',
      'To compare methods, pick one and tick the others under “Also run”: one Run press trains them one after another on the same network, data and training, and every run of the session stays on the accuracy chart (History adds stored ones). Runs that differ only in their seed draw as one mean line with a min-max band.',
      'Training curve: losses and accuracies of the round being trained. Weights remaining per layer: how the mask is spread over the layers. The results table lists every round of every series.',
      'Method views appear when a method reports them: EarlyBird/WORM mask distances and channel masks, COLT’s overlap and rounds to sparsity, and the kernel picture of the ticket’s mask (one cell per filter × input channel, shaded by the share of its 3×3 weights that survive).',
    ],
  },
  {
    id: 'exports',
    title: 'Exports',
    paragraphs: [
      'results.json holds the config, every round of every series, and the method’s own results: run it again with npm run experiment, or compare it with other runs.',
      'Download ticket saves the run’s latest ticket (mask and rewind weights) as .safetensors, for the retrain method or other tools.',
      'Download PyTorch experiment saves a .zip with the config, the network (network.json) and run.py, which runs the same IMP or dense experiment in PyTorch on the official CIFAR files: edit data.dir in config.json to the folder holding them, or pass python run.py --data-dir DIR.',
      'results.csv has one row per series and round (percent remaining, sparsity, test accuracy, early-stop iteration and accuracy, train seconds, images/s) for a spreadsheet. Each chart’s PNG button saves the chart as drawn, on the page’s background colour.',
    ],
  },
  {
    id: 'sweeps',
    title: 'Sweeps: the hyperparameter lottery',
    paragraphs: [
      'A sweep runs methods over hyperparameter axes and seeds, to show how much of a difference between methods is the method and how much is luck (ArchGym’s “hyperparameter lottery”). It is JSON: a base config, the methods, axes (a config path with a list of values, a linear or log range, or a seeded random sample; optionally only for some methods) and seeds. A bad path or value is named before anything runs; a sweep of more than 40 runs asks first.',
      'Each run trains in the background and is kept in History like any run; after a reload the sweep queues the runs it still lacks. The time left is the mean time of its finished runs times the runs left, so there is no estimate until the first has finished.',
      'The views: box plots of each method’s runs and of its config means (the hyperparameter spread), violins of each run’s distance from its config’s mean (the seed spread), the expected best test accuracy after n random draws (curves that cross mean the winner depends on the tuning budget), the ranking at the default, median and best config with any flip said in words, and P(A beats B) over random (config, seed) pairs beside the gap between tuned bests. sweep.csv and sweep.json download the table; npm run sweep -- sweep.json runs the same file on the command line.',
      'History’s “5 seeds” runs a stored run on its seed and the next four; the accuracy chart draws them as one mean line with a band.',
    ],
  },
];

/** Builder controls that edit no config field: the page's own. */
const PAGE_CONTROLS: Record<string, ControlHelp> = {
  'also-run': {
    name: 'Also run',
    line: 'Each ticked method runs next, one after another, on the same network, data and training; all share the accuracy chart.',
    section: 'charts',
  },
  'export-pytorch': {
    name: 'PyTorch experiment',
    line: 'A .zip with config.json, network.json and run.py: the same experiment in PyTorch, for a GPU server (python run.py, or torchrun).',
    section: 'exports',
  },
  'data-files': { name: 'CIFAR files', line: 'The official .tar.gz or its .bin files; they stay on this machine.', section: 'data' },
};

const CONFIG_FIELDS = [
  ...fieldsOf([NETWORK_PANEL, TRAINING_PANEL]),
  ...Object.values(DATA_FIELDS),
  ...Object.values(METHOD_REGISTRY).flatMap((method) => fieldsOf(method.panels)),
];

/** One line per builder control, keyed by the control's data-testid; a field shared by two panels (WORM's detector is EarlyBird's) is listed once. */
export const CONTROL_HELP: Record<string, ControlHelp> = {
  ...PAGE_CONTROLS,
  ...Object.fromEntries(CONFIG_FIELDS.map((field) => [field.id, { name: field.label, line: field.hint, section: field.section as HelpSectionId }])),
};
