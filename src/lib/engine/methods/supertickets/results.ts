/** SuperTickets' results (results.json's `supertickets`) and checkpoint state. */
import type { MethodOutput, RoundResult } from '../../results';
import type { ImpState } from '../imp/results';

/** Channels alive per stage per branch (`{ conv_1: { k3: 16, k5: 9 } }`); 0 for a branch that disappeared. */
export type BranchChannels = Record<string, Record<string, number>>;

/** What one arm's network is at a point of its run. */
export interface NetworkState {
  channels: BranchChannels;
  /** Forward FLOPs per image of the architecture as it stands (branches and channels left; dense weights). */
  flops: number;
  /** Prunable weights the mask keeps. */
  params: number;
}

export interface SuperTicketsEvent extends NetworkState {
  /** Epochs trained when the event happened. */
  epoch: number;
  /** Share of the network's prunable weights the mask prunes from here on: exactly the scheduled sparsity (0 for a search-only event). */
  sparsity: number;
  /** Share of the new mask's kept weights that the previous mask pruned (0 in monotone mode). */
  regrowth: number;
  /** Test accuracy right after the event, before training on. */
  testAccuracy: number;
  /** Channels cut out at this event. */
  channelsRemoved: number;
  /** Set where a stage would have lost every channel and kept its strongest one. */
  note?: string;
}

/** One arm: its events and its network at the end, accuracy without retraining. */
export interface SuperTicketsArm extends NetworkState {
  events: SuperTicketsEvent[];
  testAccuracy: number;
  sparsity: number;
  /** Wall seconds of training. */
  trainSeconds: number;
}

/** The IMP arm: the imp method run beside on the arch without branches. */
export interface SuperTicketsImpArm {
  rounds: RoundResult[];
  testAccuracy: number;
  sparsity: number;
  flops: number;
  params: number;
}

export interface SuperTicketsArms {
  twoInOne: SuperTicketsArm;
  twoStage: SuperTicketsArm | null;
  monotone: SuperTicketsArm | null;
  randomMask: SuperTicketsArm | null;
  imp: SuperTicketsImpArm | null;
}

/** The 'supertickets' view: each arm's events so far and, once trained, its end. */
export interface SuperTicketsView {
  stages: string[];
  kernels: number[];
  /** Channels per stage per branch of the supernet before any cut. */
  initial: BranchChannels;
  /** Epochs of the whole schedule. */
  epochs: number;
  arms: Partial<Record<SupernetArm, { events: SuperTicketsEvent[]; final: (NetworkState & { testAccuracy: number }) | null }>>;
  /** The IMP arm once it finished. */
  imp?: { testAccuracy: number; flops: number; params: number };
  /** The transfer test's arms so far, once it started. */
  transfer?: SuperTicketsTransferView;
}

/** The transfer test's arms, on the target task. */
export type TransferArmName = 'ticketOnTarget' | 'drawnOnTarget' | 'denseOnTarget';

/** One transfer arm's network at the end of its training on the target task. */
export interface SuperTicketsTransferArm extends NetworkState {
  testAccuracy: number;
  sparsity: number;
  trainSeconds: number;
}

/** results.json's `supertickets.transfer` once the test ran. */
export interface SuperTicketsTransfer {
  done: true;
  /** The classes the run drew its ticket on, and the classes it moved to (relabelled 0..n-1 in this order). */
  source: number[];
  target: number[];
  /** Test images of the target task. */
  testImages: number;
  arms: {
    /** The source ticket (architecture + mask, from its initial weights) trained on the target. */
    ticketOnTarget: SuperTicketsTransferArm;
    /** A ticket drawn by SuperTickets (two-in-one) on the target itself, on the same budget; accuracy without retraining. */
    drawnOnTarget: SuperTicketsTransferArm;
    /** The dense supernet trained on the target (null when `transferDense` is off). */
    denseOnTarget: SuperTicketsTransferArm | null;
  };
  /** ticketOnTarget's accuracy minus drawnOnTarget's. */
  gap: number;
  /** The noise margin of that difference on `testImages` (stats.ts noiseMargin). */
  margin: number;
}

export interface SuperTicketsTransferView {
  source: number[];
  target: number[];
  chance: number;
  arms: Partial<Record<TransferArmName, SuperTicketsTransferArm>>;
  /** Once every arm finished. */
  result: SuperTicketsTransfer | null;
}

/** The transfer test's checkpoint: the arms finished so far and their rounds. */
export interface SuperTicketsTransferState {
  arms: Partial<Record<TransferArmName, SuperTicketsTransferArm>>;
  rounds: RoundResult[];
}

/** The arms that train the supernet. */
export type SupernetArm = 'twoInOne' | 'twoStage' | 'monotone' | 'randomMask';

/** results.json's `supertickets`. */
export interface SuperTicketsResults {
  /** Kernel sizes of the supernet's branches. */
  branches: number[];
  /** The two-in-one arm's events (the issue's `events`). */
  events: SuperTicketsEvent[];
  arms: SuperTicketsArms;
  /**
   * The MODEL block that rebuilds the two-in-one ticket's architecture:
   * `model.branches` and `model.channels` (each stage's width and each
   * branch's channels). With two branches it is the searched network up to
   * the order of each stage's channels.
   */
  ticketModel: { arch: string; width: number; branches: number[]; channels: Record<string, number> };
  /**
   * Whether the two-in-one ticket became the run's ticket file (architecture,
   * mask, initial weights); why not when it did not (a layout of three or
   * more branches that channel counts cannot rebuild).
   */
  ticketFile: { saved: true } | { saved: false; reason: string };
  /** The transfer test (`supertickets.transferSource` / `transferTarget`), or why it did not run. */
  transfer: SuperTicketsTransfer | { done: false; reason: string };
}

export interface SuperTicketsOutput extends MethodOutput {
  supertickets: SuperTicketsResults;
}

/** The arms finished so far; a resumed run goes on with the next one. */
export interface SuperTicketsState {
  arms: Partial<SuperTicketsArms>;
  rounds: RoundResult[];
  /** The IMP arm's own checkpoint while it runs. */
  imp: ImpState | null;
  /** `model.channels` of the two-in-one ticket, once drawn. */
  ticketChannels: Record<string, number> | null;
  /** Why the two-in-one ticket has no ticket file, once drawn (absent: it has one, or a run from before files). */
  ticketFileProblem?: string;
  /** The transfer test, once started. */
  transfer?: SuperTicketsTransferState;
}
