/**
 * The lab's in-app help as data: one section per method and per group of
 * builder controls, and a one-line explanation of every control keyed by
 * the control's test id, so the builder shows the same line the help lists.
 * Method sections quote the engine registry's summary and departures from
 * the paper rather than restating them.
 */
import type { MethodName } from '../engine/config';
import { METHOD_REGISTRY } from '../engine/methods/registry';
import type { PruningMethod } from '../engine/methods/method';

export const HELP_SECTION_IDS = [
  'presets',
  'data',
  'model',
  'training',
  'pruning',
  'imp',
  'earlybird',
  'worm',
  'colt',
  'retrain',
  'dense',
  'backends',
  'charts',
  'exports',
] as const;

export type HelpSectionId = (typeof HELP_SECTION_IDS)[number];

export interface HelpSection {
  id: HelpSectionId;
  title: string;
  paragraphs: string[];
  /** The registry method this section explains; its summary and departures from the paper lead the section. */
  method?: string;
}

export interface ControlHelp {
  /** What the control is called in the builder. */
  name: string;
  /** One line: what it does, and when to change it. */
  line: string;
  section: HelpSectionId;
}

/** Registry lookup by plain name: sections exist for methods another build may not register yet (retrain). */
export function registeredMethod(name: string): PruningMethod | undefined {
  return (METHOD_REGISTRY as Partial<Record<string, PruningMethod>>)[name];
}

/** The help section that explains a method; the pruning section for a method without its own. */
export function methodSection(name: MethodName | string): HelpSectionId {
  return HELP_SECTIONS.some((section) => section.method === name) ? (name as HelpSectionId) : 'pruning';
}

export const HELP_SECTIONS: readonly HelpSection[] = [
  {
    id: 'presets',
    title: 'Classroom presets',
    paragraphs: [
      'Each preset asks one question and loads an experiment sized to finish in a few minutes on the built-in synthetic data. Choosing one replaces the whole builder; press Run.',
      'While the builder still holds the preset unchanged, its guidance (what to look for) shows above the charts. Edit any field and it becomes your own experiment.',
    ],
  },
  {
    id: 'data',
    title: 'Data',
    paragraphs: [
      'The built-in synthetic set is generated from the seed in the page: 32×32 colour images of 10 shape families with random position, scale, rotation, palettes, textured backgrounds and noise. It needs no download and is harder than it looks.',
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
      'Short runs need larger learning rates than the paper’s full schedules: the presets use about 10× the paper’s Adam rate for 150 iterations.',
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
  {
    id: 'imp',
    method: 'imp',
    title: 'Lottery tickets (IMP) and their controls',
    paragraphs: [
      'Each round: train, prune, then reset every surviving weight, bias and BatchNorm parameter to the rewind point, and train again. Rewind iteration 0 is the original lottery-ticket hypothesis; k > 0 is late resetting, which the paper needs for deeper networks.',
      'The ticket is the mask together with those rewind values. The paper’s two controls test that both matter: random reinit keeps the mask but draws fresh weights; random pruning keeps the weights but draws a random mask with each layer’s density. Both train the ticket’s schedule from the rewind iteration, as open_lth does. A winning ticket stays accurate (and learns faster) at sparsities where both controls fall off.',
    ],
  },
  {
    id: 'earlybird',
    method: 'earlybird',
    title: 'EarlyBird tickets',
    paragraphs: [
      'Training adds a sign-L1 push on the BatchNorm scales (network slimming). After every epoch the channels with the smallest |γ| over all layers at ratio p form a channel mask; when the newest mask differs from each of the last four in at most ε of the channels (normalised Hamming distance), the ticket is drawn, those channels are pruned and the network retrains for the rest of the schedule.',
      'Train with epochs, not iterations: the detector looks once per epoch. On narrow networks a high ratio can empty a whole layer; the run warns when it does.',
    ],
  },
  {
    id: 'worm',
    method: 'worm',
    title: 'WORM',
    paragraphs: [
      'The EarlyBird detector plus damping: the BatchNorm gradients of the channels the newest mask would prune are multiplied by χ, so those channels stop flickering in and out and the mask settles sooner. χ starts at 1 and drops to 0.003 once the mean queue distance is below the threshold.',
      'By default plain EarlyBird runs from the same seed beside it, so one run gives the comparison table: epochs to ticket, accuracy lost at pruning, accuracy after retraining.',
    ],
  },
  {
    id: 'colt',
    method: 'colt',
    title: 'COLT',
    paragraphs: [
      'The classes are split into K contiguous segments; one model per segment trains from the same initialisation, each prunes its smallest conv weights, and only the weights every model keeps survive (the AND of the masks). All models rewind to the initialisation and repeat.',
      'Because the AND removes the union of what each model prunes, a round removes more than the per-model rate, so COLT reaches a sparsity in fewer rounds than IMP. Each round’s ticket is judged as a full network trained on all the classes; IMP runs beside it on the same budget.',
      '“Weights remaining” counts every prunable weight wherever it appears (live progress, the accuracy chart, the results table), and COLT prunes conv layers only by default, so its points sit near 100%; COLT’s own views (overlap, rounds to sparsity) count the pruned layers and say so.',
    ],
  },
  {
    id: 'retrain',
    method: 'retrain',
    title: 'Retrain an imported ticket',
    paragraphs: [
      'A ticket saved from a run (a .safetensors file holding the mask of every prunable layer and the weights to rewind to) can be loaded back: the network is rebuilt from the file’s architecture and width, set to its rewind weights with its mask, then retrained and evaluated on the data chosen here.',
      'Download a run’s ticket with the Download ticket button beside the run, load one with Import ticket, choose the retrain method and press Run; with the config’s retrain.evaluateOnly the ticket is only measured, not trained.',
      'Use it to check that a ticket found on one data set or seed still trains well on another, or to retrain a ticket found earlier without repeating the search.',
    ],
  },
  {
    id: 'dense',
    method: 'dense',
    title: 'Dense baseline',
    paragraphs: ['The unpruned network trained once with the same schedule: the accuracy every ticket is compared with.'],
  },
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
      'results.csv has one row per series and round (percent remaining, sparsity, test accuracy, early-stop iteration and accuracy, train seconds, images/s) for a spreadsheet. Each chart’s PNG button saves the chart as drawn, on the page’s background colour.',
    ],
  },
];

/** One line per builder control, keyed by the control's data-testid. */
export const CONTROL_HELP: Record<string, ControlHelp> = {
  'also-run': {
    name: 'Also run',
    line: 'Each ticked method runs next, one after another, on the same network, data and training; all share the accuracy chart.',
    section: 'charts',
  },
  'model-arch': { name: 'Architecture', line: 'Which of the paper’s networks to train; EarlyBird and WORM need conv-4-bn.', section: 'model' },
  'model-width': { name: 'Width', line: 'Scales every hidden layer; 0.25 trains about 16× faster than the paper’s size.', section: 'model' },
  'data-source': { name: 'Source', line: 'Built-in synthetic shapes need no download; CIFAR needs its binary files.', section: 'data' },
  'synthetic-train': { name: 'Training images', line: 'How many synthetic images to generate for training (validation comes out of these).', section: 'data' },
  'synthetic-test': { name: 'Test images', line: 'How many synthetic images the test accuracy is measured on.', section: 'data' },
  'data-files': { name: 'CIFAR files', line: 'The official .tar.gz or its .bin files; they stay on this machine.', section: 'data' },
  'data-validation': { name: 'Validation images', line: 'Held out of training to find the early-stop iteration (minimum validation loss); 0 means no early stop.', section: 'data' },
  'data-train-limit': { name: 'Training limit', line: 'Use only the first n training images, for quick runs.', section: 'data' },
  'data-test-limit': { name: 'Test limit', line: 'Test on only the first n test images, for quick runs.', section: 'data' },
  'data-augment': { name: 'Augment', line: 'Random crops of each training image padded by 4 black pixels, and horizontal flips (the reference CIFAR augmentation).', section: 'data' },
  'train-optimizer': { name: 'Optimizer', line: 'Adam as in the lottery-ticket paper; SGD with momentum as in EarlyBird.', section: 'training' },
  'train-lr': { name: 'Learning rate', line: 'Step size; short schedules need several times the paper’s rate.', section: 'training' },
  'train-momentum': { name: 'Momentum', line: 'SGD momentum (the EarlyBird paper: 0.9).', section: 'training' },
  'train-batch': { name: 'Batch size', line: 'Images per optimiser step (the paper: 60).', section: 'training' },
  'train-iterations': { name: 'Iterations', line: 'Optimiser steps per round; empty trains for the given epochs instead.', section: 'training' },
  'train-eval-every': { name: 'Evaluate every', line: 'Iterations between evaluations: the curve’s resolution and the early-stop search.', section: 'training' },
  'train-weight-decay': { name: 'Weight decay', line: 'L2 penalty on the weights (0 in the lottery-ticket paper, 1e-4 in EarlyBird).', section: 'training' },
  seed: { name: 'Seed', line: 'Fixes data, initialisation and masks: the same seed repeats a run on the same backend.', section: 'training' },
  'prune-strategy': { name: 'Strategy', line: 'Layer-wise rates per layer (the paper), or one global magnitude threshold.', section: 'pruning' },
  'prune-rounds': { name: 'Pruning rounds', line: 'How many times to prune and retrain after the dense round.', section: 'pruning' },
  'prune-rewind': { name: 'Rewind to iteration', line: '0 resets survivors to their initial values (the original hypothesis); k > 0 to iteration k.', section: 'imp' },
  'prune-rate-conv': { name: 'Conv layers', line: 'Share of each conv layer’s surviving weights removed per round.', section: 'pruning' },
  'prune-rate-dense': { name: 'Dense layers', line: 'Share of each hidden dense layer’s surviving weights removed per round.', section: 'pruning' },
  'prune-rate-output': { name: 'Output layer', line: 'Share of the output layer’s surviving weights removed per round (paper: half the dense rate).', section: 'pruning' },
  'prune-fraction': { name: 'Fraction per round', line: 'Share of all surviving (non-output) weights removed per round by the global threshold.', section: 'pruning' },
  'control-randomReinit': { name: 'Random reinit', line: 'The ticket’s mask on a fresh random initialisation: does the ticket need its own weights?', section: 'imp' },
  'control-randomPrune': { name: 'Random pruning', line: 'A random mask with the ticket’s layer densities: does the ticket need its own mask?', section: 'imp' },
  'earlybird-ratio': { name: 'Channel pruning ratio p', line: 'Share of all BatchNorm channels the ticket prunes (the paper: 0.3, 0.5, 0.7).', section: 'earlybird' },
  'earlybird-queue': { name: 'Queue length', line: 'How many recent epoch masks the newest one is compared with, plus one.', section: 'earlybird' },
  'earlybird-epsilon': { name: 'Distance ε', line: 'The ticket is drawn when the newest mask differs from each queued one in at most this share of channels.', section: 'earlybird' },
  'earlybird-sparsity': { name: 'BN sign-L1 strength s', line: 'How hard network slimming pushes BatchNorm scales to zero, so channel ranks settle.', section: 'earlybird' },
  'earlybird-retrain': { name: 'Retraining epochs', line: 'Epochs of training after pruning; empty continues to the end of the schedule.', section: 'earlybird' },
  'earlybird-unstructured': { name: 'Unstructured variant', line: 'Our extension, not in the paper: the same detector on weight-magnitude masks.', section: 'earlybird' },
  'worm-chi-mode': { name: 'chi schedule', line: 'How much gradient the channels about to be pruned still get.', section: 'worm' },
  'worm-chi-low': { name: 'Low chi', line: 'The damping factor once the masks have nearly settled (the paper: 0.003).', section: 'worm' },
  'worm-threshold': { name: 'Distance threshold', line: 'Mean queue distance below which chi drops to its low value (the paper: 0.15).', section: 'worm' },
  'worm-chi-fixed': { name: 'Fixed chi', line: 'chi for the whole run in the fixed ablation.', section: 'worm' },
  'worm-compare': { name: 'Compare with EarlyBird', line: 'Also runs plain EarlyBird from the same seed for the side-by-side table.', section: 'worm' },
  'colt-segments': { name: 'Class segments K', line: 'How many models, each trained on its own contiguous range of classes.', section: 'colt' },
  'colt-rate': { name: 'Pruned per model per round', line: 'Share of surviving conv weights each model prunes before the masks are intersected.', section: 'colt' },
  'colt-target': { name: 'Target sparsity', line: 'Stop once the intersected mask removes this share of the pruned layers’ weights.', section: 'colt' },
  'colt-rounds': { name: 'Rounds at most', line: 'Upper bound on prune-and-rewind rounds.', section: 'colt' },
  'colt-prune-dense': { name: 'Prune dense layers', line: 'Also prune the hidden dense layers; the reference prunes conv layers only.', section: 'colt' },
  'colt-every-round': { name: 'Evaluate every round', line: 'Train every round’s ticket as a full network (one extra training per round), not just the last.', section: 'colt' },
  'colt-compare': { name: 'Compare with IMP', line: 'Also run IMP on the same layers at the same rate and budget.', section: 'colt' },
};
