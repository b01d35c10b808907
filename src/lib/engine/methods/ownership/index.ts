/**
 * Ownership signatures on an imported ticket (issue 18): sign its mask,
 * retrain the unsigned and the signed ticket from the rewind point on the
 * same schedule and batch order, verify the signature (with the key and
 * without), check that unsigned and random masks give no false positive,
 * then attack the trained signed network and measure what survives.
 */
import * as tf from '@tensorflow/tfjs';
import type { SavedTensor, Ticket } from '../../checkpoint';
import { loadMasks, restoreModel, saveModel } from '../../io/saved';
import { checkTicketFits, ticketNetworkMismatch } from '../../io/ticket-file';
import { countOnes } from '../../masks/mask';
import { randomMaskLike } from '../../masks/prune';
import type { Model } from '../../models/model';
import { forgeCode, keptStd, pruneFurther, reactivate, repruneToCounts } from '../../ownership/attacks';
import { keptInKernel } from '../../ownership/kernel-map';
import { mixTriggers, triggerSet } from '../../ownership/triggers';
import {
  extractCode,
  kernelsStillOn,
  scanMasks,
  signMasks,
  singleWeightKernels,
  verifyMasks,
  type Magnitudes,
  type Masks,
  type OwnershipKey,
} from '../../ownership/signature';
import { subSeed } from '../../rng';
import { evaluate, train } from '../../train/trainer';
import type { MethodContext, PruningMethod } from '../method';
import { trainRound } from '../round';
import { ownershipSpec } from './config';
import type { Split } from '../../data/types';
import type { OwnershipAttack, OwnershipAttacksView, OwnershipErrorsByBit, OwnershipOutput, OwnershipState, OwnershipTrigger } from './results';

export const ownership: PruningMethod<typeof ownershipSpec, OwnershipOutput, OwnershipState> = {
  ...ownershipSpec,
  plannedRounds: () => 2,

  async run(ctx) {
    if (ctx.resume) return ctx.resume.state.output;
    const { config } = ctx;
    const options = config.ownership;
    const ticket = ctx.ticket;
    if (!ticket) throw new Error('Method "ownership" has no ticket to sign: import a .safetensors ticket first');
    const mismatch = ticketNetworkMismatch(ticket, config.model);
    if (mismatch) throw new Error(mismatch);
    const from = ticket.iteration ?? 0;
    const to = ctx.iterations;
    if (from >= to) throw new Error(`The ticket's weights are from iteration ${from}, but the configured schedule has only ${ctx.iterations} iterations`);
    const model = ctx.createModel(subSeed(config.seed, 'init'));
    let triggers: Split | null = null;
    try {
      checkTicketFits(ticket, model);
      // Signing first: a payload too long or a layer too small is refused before any training.
      const signature = await signMasks(ticket.masks, kernelsOf(ticket.weights, ticket.masks), {
        payload: options.payload,
        layer: options.layer ?? undefined,
        version: options.version ?? undefined,
      });
      const { key } = signature;
      const signedNow = await verifyMasks(signature.masks, key, options.payload);
      const singles = singleWeightKernels(signature.masks, key);
      const signedTicket: Ticket = { ...ticket, masks: signature.masks, ownership: key, sparsity: sparsityOf(signature.masks) };
      ctx.emit({
        type: 'status',
        message:
          `signed ${key.layer} at row ${key.row}, column ${key.col} with a version-${key.version} code: ${signature.flips} kernels flipped ` +
          `(${signature.report.kernelsOn} on, ${signature.report.kernelsOff} off), ${signature.report.rebalanced} weights rebalanced outside the code; ` +
          `bit error rate ${signedNow.bitErrorRate}, decoded ${JSON.stringify(signedNow.text)}`,
      });

      // The unsigned and the signed ticket, each retrained as the round that drew the ticket was.
      const dataSeed = subSeed(config.seed, `data-${ticket.round}`);
      ctx.progress.add((options.retrainUnsigned ? 2 : 1) * (to - from) + 2 * options.attackIterations);
      // The black-box signature: the signed ticket alone learns the trigger set, on top of the same clean batches.
      const trigger: OwnershipTrigger | null =
        options.triggers > 0 ? { images: options.triggers, perBatch: options.triggersPerBatch, chance: 1 / ctx.dataset.numClasses } : null;
      if (trigger) triggers = triggerSet(ctx.dataset, trigger.images, subSeed(config.seed, 'ownership-triggers'));
      const triggerAccuracy = async () => (triggers ? (await evaluate(model, triggers, model.numClasses)).accuracy : null);
      let unsigned = null;
      let unsignedTriggerAccuracy: number | null = null;
      if (options.retrainUnsigned) {
        restoreModel(model, ticket.weights, 'The ticket');
        unsigned = await trainRound(ctx, { series: 'unsigned', round: 0, model, masks: loadMasks(ticket.masks), dataSeed, from, to });
        unsignedTriggerAccuracy = await triggerAccuracy();
      }
      restoreModel(model, ticket.weights, 'The ticket');
      const signed = await trainRound(ctx, {
        series: 'ticket',
        round: 0,
        model,
        masks: loadMasks(signature.masks),
        dataSeed,
        from,
        to,
        mixBatch: triggers && trigger ? mixTriggers(triggers, trigger.perBatch, subSeed(config.seed, 'ownership-trigger-order')) : undefined,
      });
      const signedTriggerAccuracy = await triggerAccuracy();
      if (trigger) {
        ctx.emit({
          type: 'status',
          message: `trigger set: signed ${(100 * signedTriggerAccuracy!).toFixed(1)}%, unsigned ${unsignedTriggerAccuracy === null ? 'not retrained' : `${(100 * unsignedTriggerAccuracy).toFixed(1)}%`} (chance ${(100 * trigger.chance).toFixed(1)}%)`,
        });
      }
      const trained = await saveModel(model);

      const falsePositive = falsePositives(ticket.masks, key, options.randomMasks, config.seed);
      const attacks: OwnershipAttack[] = [];
      const attack = async (kind: OwnershipAttack['kind'], strength: number, masks: Masks, kernels: Magnitudes | null) => {
        if (kernels) setKernels(model, kernels, masks);
        const verification = await verifyMasks(masks, key, options.payload);
        const accuracy = (await evaluate(model, ctx.dataset.test, model.numClasses)).accuracy;
        const triggered = await triggerAccuracy();
        const result: OwnershipAttack = {
          kind,
          strength,
          bitErrorRate: verification.bitErrorRate,
          decoded: verification.text === options.payload,
          decodedText: verification.text,
          testAccuracy: accuracy,
          triggerAccuracy: triggered,
          singleWeightKernels: singles.length,
          singleWeightKernelsOn: kernelsStillOn(masks, key.layer, singles),
          errorsByBit: errorsByBit(signature.masks, key, verification.errors),
          fixedModuleErrors: verification.fixedErrors,
          decodedWithFixedRedrawn: verification.textWithFixedRedrawn === options.payload,
          sparsity: sparsityOf(masks),
        };
        attacks.push(result);
        ctx.emit({
          type: 'status',
          message: `attack ${kind} ${strength}: bit error rate ${result.bitErrorRate?.toFixed(3)}, decoded ${result.decoded} (${result.fixedModuleErrors} function modules wrong; with them redrawn: ${result.decodedWithFixedRedrawn}), test ${(100 * accuracy).toFixed(1)}%${triggered === null ? '' : `, trigger ${(100 * triggered).toFixed(1)}%`}, single-weight kernels on ${result.singleWeightKernelsOn}/${singles.length}`,
        });
        const view: OwnershipAttacksView = { attacks: [...attacks], trigger, accuracyUnsigned: unsigned?.result.testAccuracy ?? null, unsignedTriggerAccuracy };
        ctx.emit({ type: 'view', view: 'ownership-attacks', data: view });
      };
      const trainedKernels = kernelsOf(trained, signature.masks);
      await attack('none', 0, signature.masks, null);
      for (const p of options.prune) {
        restoreModel(model, trained, 'The signed ticket');
        const masks = pruneFurther(signature.masks, trainedKernels, p);
        await attack('prune', p, masks, trainedKernels);
      }
      for (const p of options.reactivate) {
        restoreModel(model, trained, 'The signed ticket');
        const std = keptStd(signature.masks[key.layer], trainedKernels[key.layer]);
        const attacked = reactivate(signature.masks, trainedKernels, p, subSeed(config.seed, `reactivate-${p}`), std);
        await attack('reactivate', p, attacked.masks, attacked.weights);
      }
      if (options.attackIterations > 0) {
        // Fine-tuning with the mask lifted, then magnitude re-pruning to every layer's count.
        restoreModel(model, trained, 'The signed ticket');
        await fineTune(ctx, model, null, 'fine-tune', options.attackIterations);
        const tuned = kernelsOf(await saveModel(model), signature.masks);
        await attack('fineTuneReprune', options.attackIterations, repruneToCounts(signature.masks, tuned), tuned);
        // Forging: the thief's code over the owner's, the region's weights redrawn, then retrained under the forged mask.
        restoreModel(model, trained, 'The signed ticket');
        const std = keptStd(signature.masks[key.layer], trainedKernels[key.layer]);
        const forged = forgeCode(signature.masks, trainedKernels, key, options.forgePayload, subSeed(config.seed, 'forge'), std);
        setKernels(model, forged.weights, forged.masks);
        await fineTune(ctx, model, forged.masks, 'forge', options.attackIterations);
        await attack('forge', options.attackIterations, forged.masks, null);
      }

      const output: OwnershipOutput = {
        rounds: [signed.result],
        ownership: {
          layer: key.layer,
          row: key.row,
          col: key.col,
          version: key.version,
          payloadSha256: key.payloadSha256,
          flips: signature.flips,
          write: signature.report,
          sparsityBefore: sparsityOf(ticket.masks),
          sparsityAfter: sparsityOf(signature.masks),
          accuracyUnsigned: unsigned?.result.testAccuracy ?? null,
          accuracySigned: signed.result.testAccuracy,
          unsignedRound: unsigned?.result ?? null,
          verify: { decoded: signedNow.text === options.payload, text: signedNow.text, bitErrorRate: signedNow.bitErrorRate, triggerAccuracy: signedTriggerAccuracy },
          trigger,
          falsePositive: { ...falsePositive, unsignedTriggerAccuracy },
          attacks,
        },
      };
      ctx.checkpoint({ round: 2, state: { output }, tensors: {}, masks: {}, ticket: signedTicket });
      return output;
    } finally {
      model.dispose();
      if (triggers) tf.dispose([triggers.x, triggers.y]);
    }
  },
};

/** Conv kernels by layer from saved variables (`conv_2/kernel`). */
function kernelsOf(weights: Record<string, SavedTensor>, masks: Masks): Magnitudes {
  const kernels: Magnitudes = Object.create(null);
  for (const layer of Object.keys(masks)) {
    const variable = `${layer}/kernel`;
    if (Object.hasOwn(weights, variable)) kernels[layer] = weights[variable].data;
  }
  return kernels;
}

function sparsityOf(masks: Masks): number {
  let total = 0;
  let kept = 0;
  for (const mask of Object.values(masks)) {
    total += mask.keep.length;
    kept += countOnes(mask.keep);
  }
  return 1 - kept / total;
}

/** Every prunable kernel set to `kernels` (where given) times its mask. */
function setKernels(model: Model, kernels: Magnitudes, masks: Masks): void {
  for (const layer of model.prunable) {
    const values = Object.hasOwn(kernels, layer.name) ? kernels[layer.name] : null;
    const variable = model.kernel(layer.name);
    const source = values ?? (variable.dataSync() as Float32Array);
    const keep = masks[layer.name].keep;
    const masked = Float32Array.from(source, (w, k) => (keep[k] ? w : 0));
    tf.tidy(() => variable.assign(tf.tensor(masked, variable.shape)));
  }
}

/** The attacker's training: `iterations` steps from the trained weights, under `masks` (null: the mask lifted). */
async function fineTune(ctx: MethodContext<OwnershipState>, model: Model, masks: Masks | null, what: string, iterations: number): Promise<void> {
  await train({
    model,
    dataset: ctx.dataset,
    train: ctx.config.train,
    dataSeed: subSeed(ctx.config.seed, what),
    from: 0,
    to: iterations,
    masks: masks ? loadMasks(masks) : null,
    control: ctx.control,
  });
  ctx.progress.record(iterations, 0);
}

/** Keyless scans of the unsigned ticket and of random masks of its density, and a read at the key of the unsigned ticket. */
function falsePositives(
  unsignedMasks: Masks,
  key: OwnershipKey,
  randomMasks: number,
  seed: number,
): Omit<OwnershipOutput['ownership']['falsePositive'], 'unsignedTriggerAccuracy'> {
  const unsignedScan = scanMasks(unsignedMasks);
  const atKey = extractCode(unsignedMasks, key).text;
  let randomDecoded = 0;
  let bestRandomAgreement = 0;
  for (let n = 0; n < randomMasks; n++) {
    const random = randomMaskLike(loadMasks(unsignedMasks), subSeed(seed, `ownership-random-${n}`));
    const masks: Masks = Object.create(null);
    for (const [name, m] of random.layers) masks[name] = { shape: m.shape, keep: m.keep };
    const scan = scanMasks(masks);
    if (scan.decoded.length > 0) randomDecoded++;
    bestRandomAgreement = Math.max(bestRandomAgreement, scan.best?.finderAgreement ?? 0);
  }
  return {
    unsignedDecoded: unsignedScan.decoded.length > 0 || atKey !== null,
    randomDecoded: randomDecoded > 0,
    randomMasks,
    randomMasksDecoded: randomDecoded,
    windowsScanned: unsignedScan.windows,
    bestFinderAgreementUnsigned: unsignedScan.best?.finderAgreement ?? 0,
    bestFinderAgreementRandom: bestRandomAgreement,
  };
}

/**
 * Which bits an attack broke, by what they were in the signed mask: light
 * modules kept by one weight, light modules kept by more, dark modules.
 */
function errorsByBit(signed: Masks, key: OwnershipKey, errors: Uint8Array | null): OwnershipErrorsByBit | null {
  if (!errors) return null;
  const size = Math.sqrt(errors.length);
  const mask = signed[key.layer];
  const counts: OwnershipErrorsByBit = { singleWeightOn: 0, multiWeightOn: 0, off: 0 };
  for (let m = 0; m < errors.length; m++) {
    if (!errors[m]) continue;
    const kept = keptInKernel(mask, key.row + Math.floor(m / size), key.col + (m % size));
    if (kept === 0) counts.off++;
    else if (kept === 1) counts.singleWeightOn++;
    else counts.multiWeightOn++;
  }
  return counts;
}
