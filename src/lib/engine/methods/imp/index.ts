/**
 * Lottery tickets by iterative magnitude pruning (Frankle & Carbin, ICLR 2019;
 * rewinding from Frankle et al., ICML 2020). Train, prune p% of the surviving
 * weights, reset every parameter to the rewind point, repeat. The paper's
 * controls run beside the ticket from the same seed: the same mask with a
 * fresh init (random reinit) and a random mask of the same per-layer density
 * (random pruning).
 */
import type { SavedTensor, Ticket } from '../../checkpoint';
import type { ExperimentConfig } from '../../config';
import { createTicket, loadMasks, loadState, masksMismatch, saveMasks, saveState, weightsMismatch } from '../../io/saved';
import { MaskSet, readKernels } from '../../masks/mask';
import { layerRates, oneShotLayerRates, pruneGlobal, pruneLayerwise, randomMaskLike } from '../../masks/prune';
import { disposeState, type Model, type ModelState } from '../../models/model';
import { ARCH_DEFINITIONS } from '../../models/registry';
import type { ControlName, RoundResult } from '../../results';
import { subSeed } from '../../rng';
import type { MethodContext, PruningMethod } from '../method';
import { recordCompleted, trainRound } from '../round';
import { impSpec } from './config';
import type { ImpOutput, ImpState } from './results';

/** Training runs in the ticket's sequence: round 0 (dense) plus one per pruning step. */
function ticketRounds(config: ExperimentConfig): number {
  return config.prune.oneShotSparsity !== undefined ? 2 : config.prune.rounds + 1;
}

/** Names of the layers global pruning leaves alone (default: the output layer). */
export function globalIgnore(config: ExperimentConfig, model: Model): string[] {
  return config.prune.ignore ?? model.prunable.filter((l) => l.type === 'output').map((l) => l.name);
}

/** One pruning step of the configured rule, applied to the surviving weights. */
export async function pruneStep(config: ExperimentConfig, model: Model, masks: MaskSet): Promise<MaskSet> {
  const weights = await readKernels(model);
  const { prune } = config;
  const rates = layerRates(model.prunable, ARCH_DEFINITIONS[config.model.arch].rates, prune.rate);
  const ignore = globalIgnore(config, model);
  if (prune.oneShotSparsity !== undefined) {
    if (prune.strategy === 'global') {
      const prunableTotal = model.prunable.filter((l) => !ignore.includes(l.name)).reduce((n, l) => n + l.size, 0);
      const fraction = Math.min(0.999, (prune.oneShotSparsity * model.prunableWeightCount) / prunableTotal);
      return pruneGlobal(masks, weights, fraction, ignore);
    }
    return pruneLayerwise(masks, weights, oneShotLayerRates(model.prunable, rates, prune.oneShotSparsity));
  }
  return prune.strategy === 'global' ? pruneGlobal(masks, weights, prune.fraction, ignore) : pruneLayerwise(masks, weights, rates);
}

export const imp: PruningMethod<typeof impSpec, ImpOutput, ImpState> = {
  ...impSpec,
  plannedRounds: ticketRounds,

  async run(ctx) {
    const { config } = ctx;
    const rounds = ticketRounds(config);
    const rewind = config.prune.rewindIteration;
    const controls = config.controls;
    // Round 0 is shared with the controls (it is the same dense network).
    ctx.progress.add(ctx.iterations * rounds - rewind * (rounds - 1));
    ctx.progress.add((ctx.iterations - rewind) * (rounds - 1) * controls.length);

    const model = ctx.createModel(subSeed(config.seed, 'init'));
    let rewindState: ModelState | null = null;
    try {
      const saved = ctx.resume?.state;
      const ticket: RoundResult[] = saved?.rounds ?? [];
      const controlResults: ImpState['controls'] = saved?.controls ?? Object.fromEntries(controls.map((c) => [c, []]));
      let masks = MaskSet.dense(model.prunable);
      // The rewind point's values as checkpoints carry them, read back once.
      let savedRewind: Record<string, SavedTensor> | null = null;
      let latestTicket: Ticket | null = ctx.resume?.ticket ?? null;
      if (ctx.resume && ctx.resume.round < rounds) {
        const mismatch = weightsMismatch(model, ctx.resume.tensors) ?? masksMismatch(model, ctx.resume.masks);
        if (mismatch) throw new Error(`Cannot resume: the checkpoint does not fit model ${config.model.arch}: ${mismatch}`);
        savedRewind = ctx.resume.tensors;
        rewindState = loadState(savedRewind);
        model.restore(rewindState);
        masks = loadMasks(ctx.resume.masks);
      } else if (!ctx.resume && rewind === 0) {
        rewindState = model.snapshot();
      }
      recordCompleted(ctx, ticket);
      for (const control of controls) recordCompleted(ctx, controlResults[control]!.slice(1));

      for (let round = ctx.resume?.round ?? 0; round < rounds; round++) {
        const { result } = await trainRound(ctx, {
          series: 'ticket',
          round,
          model,
          masks: round === 0 ? null : masks,
          dataSeed: subSeed(config.seed, `data-${round}`),
          from: round === 0 ? 0 : rewind,
          snapshotAt: round === 0 && rewind > 0 ? rewind : undefined,
          onSnapshot: (state) => (rewindState = state),
        });
        ticket.push(result);
        if (round === 0) {
          for (const control of controls) {
            controlResults[control]!.push(result);
            ctx.emit({ type: 'round', series: control, result });
          }
        } else {
          for (const control of controls) {
            controlResults[control]!.push(await runControl(ctx, control, round, masks, rewindState!));
          }
        }
        if (round > 0) {
          // Rounds after 0 exist only once the rewind point was reached.
          savedRewind ??= await saveState(rewindState!);
          latestTicket = createTicket(config, model, { round, masks, weights: savedRewind, iteration: rewind });
        }
        const state: ImpState = { rounds: ticket, controls: controlResults };
        if (round === rounds - 1) {
          ctx.checkpoint({ round: round + 1, state, tensors: {}, masks: {}, ticket: latestTicket });
          break;
        }
        masks = await pruneStep(config, model, masks);
        if (!rewindState) throw new Error(`Rewind point ${rewind} was never reached: training has fewer iterations`);
        savedRewind ??= await saveState(rewindState);
        model.restore(rewindState);
        ctx.checkpoint({ round: round + 1, state, tensors: savedRewind, masks: saveMasks(masks), ticket: latestTicket });
      }
      return { rounds: ticket, controls: controls.length ? controlResults : undefined };
    } finally {
      model.dispose();
      if (rewindState) disposeState(rewindState);
    }
  },
};

/**
 * Random reinit: the ticket's mask on a fresh initialisation. Random pruning:
 * the ticket's rewind weights under a random mask of the same layer densities.
 * Both train the same schedule as the ticket's round, from the rewind
 * iteration k (as open_lth's branches): the same steps and the same part of
 * the learning-rate schedule.
 */
async function runControl(
  ctx: MethodContext,
  control: ControlName,
  round: number,
  ticketMasks: MaskSet,
  rewindState: ModelState,
): Promise<RoundResult> {
  const { config } = ctx;
  const model = ctx.createModel(subSeed(config.seed, control === 'randomReinit' ? `reinit-${round}` : 'init'));
  try {
    let masks = ticketMasks;
    if (control === 'randomPrune') {
      model.restore(rewindState);
      masks = randomMaskLike(ticketMasks, subSeed(config.seed, `random-mask-${round}`));
    }
    const { result } = await trainRound(ctx, {
      series: control,
      round,
      model,
      masks,
      dataSeed: subSeed(config.seed, `data-${round}`),
      from: config.prune.rewindIteration,
    });
    return result;
  } finally {
    model.dispose();
  }
}
