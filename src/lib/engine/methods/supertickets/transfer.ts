/**
 * SuperTickets' transfer test (the reference's transfer.py: load task A's
 * pruned checkpoint, architecture and masks, and train it on task B), in the
 * lab's class-subset form, as edge-popup's and KS-Lottery's transfer tests
 * use (data/task.ts). The run draws its tickets on the source classes; then,
 * on the target classes and the same budget:
 *
 * - ticketOnTarget: the source two-in-one ticket, its architecture and mask,
 *   trained from its initial weights (the ticket file's);
 * - drawnOnTarget: a ticket SuperTickets draws on the target itself
 *   (two-in-one), read without retraining as the two-in-one arm is;
 * - denseOnTarget (optional): the dense supernet trained on the target.
 */
import type { Ticket } from '../../checkpoint';
import { totalIterations, type ExperimentConfig } from '../../config';
import { ConfigError } from '../../config-error';
import type { Dataset } from '../../data/types';
import { checkClassList, checkDisjoint } from '../../data/task';
import { loadMasks, restoreModel, saveModel } from '../../io/saved';
import { checkTicketFits } from '../../io/ticket-file';
import { MaskSet, countOnes } from '../../masks/mask';
import { randomMaskLike } from '../../masks/prune';
import type { Model } from '../../models/model';
import { createModel } from '../../models/registry';
import type { RoundResult, SeriesName } from '../../results';
import { subSeed } from '../../rng';
import { noiseMargin } from '../../stats';
import type { MethodContext } from '../method';
import type { SuperTicketsArm, SuperTicketsTransfer, SuperTicketsTransferArm, SuperTicketsTransferState, SuperTicketsTransferView, TransferArmName } from './results';

/** The classes of the source and target tasks, or null when the transfer test is off. */
export function transferTasks(config: ExperimentConfig): { source: number[]; target: number[]; dense: boolean } | null {
  const { transferSource: source, transferTarget: target, transferDense: dense } = config.supertickets;
  return source && target ? { source, target, dense } : null;
}

/** Refuses a transfer test the data or the other settings cannot serve, before anything trains. */
export function checkTransfer(config: ExperimentConfig): void {
  const { transferSource, transferTarget, compareImp } = config.supertickets;
  if (!transferSource !== !transferTarget) {
    const [set, unset] = transferSource ? ['transferSource', 'transferTarget'] : ['transferTarget', 'transferSource'];
    throw new ConfigError(`Invalid experiment config: supertickets.${set} needs supertickets.${unset}: the transfer test moves the ticket from the source classes to the target classes`);
  }
  const tasks = transferTasks(config);
  if (!tasks) return;
  if (config.data.classes) {
    throw new ConfigError('Invalid experiment config: data.classes: leave it unset with supertickets.transferSource, which names the classes the run trains on');
  }
  checkClassList('supertickets.transferSource', tasks.source, config.data);
  checkClassList('supertickets.transferTarget', tasks.target, config.data);
  checkDisjoint('supertickets.transferSource', tasks.source, 'supertickets.transferTarget', tasks.target);
  if (compareImp) {
    throw new ConfigError(
      'Invalid experiment config: supertickets.compareImp: set it false with a transfer test; the IMP arm runs beside on the whole data set, not on the source classes',
    );
  }
}

/** The run's context on another task: its data, the iterations of the budget on that data, and models with its class count. */
export function taskContext<State>(ctx: MethodContext<State>, dataset: Dataset): MethodContext<State> {
  return {
    ...ctx,
    dataset,
    iterations: totalIterations(ctx.config.train, dataset.train.size),
    createModel: (initSeed, numClasses = dataset.numClasses) => ctx.createModel(initSeed, numClasses),
  };
}

/**
 * The source ticket's network with `numClasses` outputs: the architecture
 * its file names, its initial weights and its mask. A head of another size
 * than the ticket's is drawn anew from `seed`, under a random mask keeping
 * the share of weights the ticket's head keeps.
 */
export async function ticketNetwork(ticket: Ticket, numClasses: number, seed: number): Promise<{ model: Model; masks: MaskSet }> {
  const model = createModel(ticket.arch, ticket.width, numClasses, seed, ticket.channels, ticket.branches);
  try {
    if (ticket.numClasses === numClasses) {
      checkTicketFits(ticket, model);
      restoreModel(model, ticket.weights, 'The source ticket');
      return { model, masks: loadMasks(ticket.masks) };
    }
    const head = model.prunable.find((layer) => layer.type === 'output')!;
    const own = await saveModel(model);
    const weights = Object.fromEntries(Object.entries(ticket.weights).filter(([name]) => !name.startsWith(`${head.name}/`)));
    restoreModel(model, { ...own, ...weights }, 'The source ticket');
    const masks = loadMasks(ticket.masks);
    const kept = masks.get(head.name);
    const keep = new Uint8Array(head.size);
    keep.fill(1, 0, Math.round((countOnes(kept.keep) / kept.keep.length) * head.size));
    masks.layers.set(head.name, randomMaskLike(new MaskSet(new Map([[head.name, { name: head.name, shape: head.shape, keep }]])), seed).get(head.name));
    return { model, masks };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

/** What the method gives the transfer test to train its arms with (index.ts's arm runner). */
export interface TransferTrainer {
  /** Trains `start` on the task of `task`: SuperTickets' two-in-one schedule (search and prune), or plain training under its mask. */
  train(task: MethodContext, arm: { series: SeriesName; schedule: 'twoInOne' | 'plain'; round: number }, start: { model: Model; masks: MaskSet }): Promise<{ arm: SuperTicketsArm; result: RoundResult }>;
  /** The method view with the transfer's arms so far. */
  show(view: SuperTicketsTransferView): void;
}

const SERIES: Record<TransferArmName, SeriesName> = { ticketOnTarget: 'ticket-on-target', drawnOnTarget: 'drawn-on-target', denseOnTarget: 'dense-on-target' };

export function transferArms(config: ExperimentConfig): TransferArmName[] {
  const tasks = transferTasks(config);
  if (!tasks) return [];
  return tasks.dense ? ['ticketOnTarget', 'drawnOnTarget', 'denseOnTarget'] : ['ticketOnTarget', 'drawnOnTarget'];
}

function summary(arm: SuperTicketsArm): SuperTicketsTransferArm {
  return { channels: arm.channels, flops: arm.flops, params: arm.params, testAccuracy: arm.testAccuracy, sparsity: arm.sparsity, trainSeconds: arm.trainSeconds };
}

/**
 * Runs the transfer arms not yet in `state` (a resumed run's) on `target`,
 * calling `save` after each, and returns the results. `ticket` is the
 * source two-in-one ticket; `firstRound` numbers the arms' rounds on.
 */
export async function runTransfer(
  ctx: MethodContext,
  target: Dataset,
  ticket: Ticket,
  state: SuperTicketsTransferState,
  trainer: TransferTrainer,
  firstRound: number,
  save: () => void,
): Promise<SuperTicketsTransfer> {
  const tasks = transferTasks(ctx.config)!;
  const task = taskContext(ctx, target);
  const initSeed = subSeed(ctx.config.seed, 'init');
  const arms = transferArms(ctx.config);
  const view = (): SuperTicketsTransferView => ({
    source: [...tasks.source],
    target: [...tasks.target],
    chance: 1 / target.numClasses,
    arms: { ...state.arms },
    result: arms.every((arm) => state.arms[arm]) ? transferResults(tasks, state, target.test.size) : null,
  });
  trainer.show(view());
  for (const [i, name] of arms.entries()) {
    if (state.arms[name]) continue;
    await ctx.control.checkpoint();
    const start = name === 'ticketOnTarget' ? await ticketNetwork(ticket, target.numClasses, initSeed) : dense(task.createModel(initSeed));
    const done = await trainer.train(task, { series: SERIES[name], schedule: name === 'drawnOnTarget' ? 'twoInOne' : 'plain', round: firstRound + i }, start);
    state.arms[name] = summary(done.arm);
    state.rounds.push(done.result);
    save();
    trainer.show(view());
  }
  return transferResults(tasks, state, target.test.size);
}

function dense(model: Model): { model: Model; masks: MaskSet } {
  return { model, masks: MaskSet.dense(model.prunable) };
}

/** results.json's `supertickets.transfer` from the finished arms. */
export function transferResults(tasks: { source: number[]; target: number[] }, state: SuperTicketsTransferState, testImages: number): SuperTicketsTransfer {
  const ticketOnTarget = state.arms.ticketOnTarget!;
  const drawnOnTarget = state.arms.drawnOnTarget!;
  return {
    done: true,
    source: [...tasks.source],
    target: [...tasks.target],
    testImages,
    arms: { ticketOnTarget, drawnOnTarget, denseOnTarget: state.arms.denseOnTarget ?? null },
    gap: ticketOnTarget.testAccuracy - drawnOnTarget.testAccuracy,
    margin: noiseMargin(ticketOnTarget.testAccuracy, drawnOnTarget.testAccuracy, testImages),
  };
}
