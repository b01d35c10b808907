/** What the ownership method adds to results.json (`ownership`, the shape plus details) and its checkpoint state. */
import type { MethodOutput, RoundResult } from '../../results';
import type { WriteReport } from '../../ownership/signature';

/** Wrong modules after an attack, by what the module was in the signed mask. */
export interface OwnershipErrorsByBit {
  /** Light modules whose kernel kept exactly one weight: the fragile bits. */
  singleWeightOn: number;
  /** Light modules whose kernel kept two or more. */
  multiWeightOn: number;
  /** Dark modules (all nine weights pruned) that an attack switched on. */
  off: number;
}

export interface OwnershipAttack {
  kind: 'none' | 'prune' | 'reactivate' | 'fineTuneReprune' | 'forge';
  /** The share pruned or reactivated; for fine-tuning and forging, the attacker's training iterations. */
  strength: number;
  /** Over data and error-correction modules, against the owner's code. */
  bitErrorRate: number | null;
  /** The owner's text read back at the key. */
  decoded: boolean;
  /** What the reader read there (the forger's text after a forge), null where nothing decodes. */
  decodedText: string | null;
  testAccuracy: number;
  /** Accuracy on the trigger set after the attack (after the attacker's training where it trains); null without a trigger set. */
  triggerAccuracy: number | null;
  singleWeightKernels: number;
  singleWeightKernelsOn: number;
  errorsByBit: OwnershipErrorsByBit | null;
  /** Wrong function modules (finders, timing, alignment, format): outside the bit error rate, but a reader needs them. */
  fixedModuleErrors: number | null;
  /** Whether the owner's text decodes once the function modules are redrawn, as the reference code's extraction does. */
  decodedWithFixedRedrawn: boolean;
  sparsity: number;
}

/** The trigger set a run trained the signed ticket with. */
export interface OwnershipTrigger {
  images: number;
  perBatch: number;
  /** One in the number of classes: what a model that never saw the triggers scores on average. */
  chance: number;
}

/** The 'ownership-attacks' view: the attack rows so far, with the lines the chart compares them with. */
export interface OwnershipAttacksView {
  attacks: OwnershipAttack[];
  trigger: OwnershipTrigger | null;
  accuracyUnsigned: number | null;
  unsignedTriggerAccuracy: number | null;
}

export interface OwnershipResults {
  layer: string;
  row: number;
  col: number;
  version: number;
  payloadSha256: string;
  /** Kernels the code switched, and how the weights moved. */
  flips: number;
  write: WriteReport;
  sparsityBefore: number;
  sparsityAfter: number;
  /** Null with `retrainUnsigned: false`: then the ticket's own round is the unsigned accuracy. */
  accuracyUnsigned: number | null;
  accuracySigned: number;
  /** The unsigned ticket's retrained round (the signed one is `rounds[0]`). */
  unsignedRound: RoundResult | null;
  verify: {
    decoded: boolean;
    text: string | null;
    bitErrorRate: number | null;
    /** The retrained signed network's accuracy on the trigger set; null without one. */
    triggerAccuracy: number | null;
  };
  /** The black-box signature's set; null when the run trained none. */
  trigger: OwnershipTrigger | null;
  falsePositive: {
    unsignedDecoded: boolean;
    randomDecoded: boolean;
    randomMasks: number;
    randomMasksDecoded: number;
    windowsScanned: number;
    bestFinderAgreementUnsigned: number;
    bestFinderAgreementRandom: number;
    /**
     * The unsigned ticket's trigger accuracy, retrained on the same batches
     * without the triggers: an independent model, near chance when the
     * trigger set is not a false positive. Null without a trigger set or
     * with `retrainUnsigned` off.
     */
    unsignedTriggerAccuracy: number | null;
  };
  attacks: OwnershipAttack[];
}

export interface OwnershipOutput extends MethodOutput {
  ownership: OwnershipResults;
}

export interface OwnershipState {
  output: OwnershipOutput;
}
