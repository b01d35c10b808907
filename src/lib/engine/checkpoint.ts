/**
 * What a run leaves behind after each completed round so that it can resume
 * after a reload, and the ticket it can export. Everything here is plain data
 * (typed arrays and JSON), so it crosses postMessage and goes into IndexedDB
 * as it is.
 */
import type { OwnershipKey } from './ownership/signature';
import type { ArchName, ExperimentConfig } from './config';
import type { MethodName, MethodStateOf } from './methods/registry';

/** One tensor's values on the JS side. */
export interface SavedTensor {
  shape: number[];
  data: Float32Array;
}

/** One prunable layer's mask: 1 keeps a weight, 0 prunes it; laid out like the kernel. */
export interface SavedMask {
  shape: number[];
  keep: Uint8Array;
}

/**
 * A lottery ticket: which weights survive, and the values to rewind them to
 * before retraining. It is what `.safetensors` export and import carry.
 */
export interface Ticket {
  arch: ArchName;
  width: number;
  /**
   * A slim network's output channels per conv layer where they differ from
   * what `width` gives (`model.channels`): the ticket of a network whose
   * pruned channels were cut out (EarlyBird, WORM). Absent for a network of
   * the width's own shape.
   */
  channels?: Record<string, number>;
  /**
   * A supernet ticket's branch kernel sizes (`model.branches`, SuperTickets):
   * every conv stage runs these parallel branches, and `channels` then names
   * each stage's width and each branch's channels (0: the branch is gone).
   */
  branches?: number[];
  numClasses: number;
  /**
   * The data source's classes the ticket was drawn on, in the order of its
   * outputs, when that was a class subset (`data.classes`; a SuperTickets
   * transfer test's source classes). Absent: the source's classes in order.
   */
  classes?: number[];
  /** The method and round that produced it, for the file's metadata. */
  method: MethodName;
  round: number;
  /** Fraction of prunable weights the mask removes. */
  sparsity: number;
  /**
   * Training iteration the weights were taken at (the rewind point; 0 is the
   * initialisation). Retraining continues the schedule from here, so the
   * learning-rate steps and batch order match the run that drew the ticket.
   * Absent means 0.
   */
  iteration?: number;
  /** By prunable layer name (`conv_1`, `dense_3`). */
  masks: Record<string, SavedMask>;
  /** Every parameter and BN statistic to rewind to, by the model's variable name (`conv_1/kernel`). */
  weights: Record<string, SavedTensor>;
  /**
   * The scores a mask was searched with (edge-popup), by prunable layer name;
   * metadata only: the mask above is the ticket, whatever ties the scores hold.
   */
  scores?: Record<string, SavedTensor>;
  /** Where an ownership signature sits in the mask, for a signed ticket (ownership/signature.ts). */
  ownership?: OwnershipKey;
}

/**
 * A method's state after a completed round. The method decides what `state`
 * (typed in its results.ts) and `tensors` hold; the lab only stores the latest
 * checkpoint of a run and hands it back to the same method to resume.
 */
export interface MethodCheckpointOf<Name extends MethodName, State> {
  version: 1;
  method: Name;
  /**
   * Rounds completed, in the method's own count (what the progress bar shows):
   * IMP's rounds; EarlyBird's search and retraining (WORM: up to 4 with its
   * EarlyBird comparison); COLT's rounds, then its IMP comparison's after them.
   */
  round: number;
  /** Method-specific JSON: results so far, counters, the next round's plan. */
  state: State;
  /** Method-specific tensors (weights, rewind weights) by name. */
  tensors: Record<string, SavedTensor>;
  /** Method-specific masks by name. */
  masks: Record<string, SavedMask>;
  /** The best ticket so far (the sparsest trained mask with its rewind weights), null before there is one. */
  ticket: Ticket | null;
  /**
   * The config the run was started with. A resume checks the new config
   * against it (seed, model, data, schedule...), because continuing under
   * other settings would splice two different experiments together.
   */
  config?: ExperimentConfig;
}

/** A stored checkpoint: one member per registered method, its state typed by that method (narrow on `method`). */
export type Checkpoint = { [Name in MethodName]: MethodCheckpointOf<Name, MethodStateOf<Name>> }[MethodName];

/** What a method hands to `ctx.checkpoint`; the lab adds the version, method and config. */
export type MethodCheckpoint<State = unknown> = Pick<MethodCheckpointOf<MethodName, State>, 'round' | 'state' | 'tensors' | 'masks' | 'ticket'>;
