/**
 * A ticket search's part of a checkpoint, and how the pruned network and the
 * detector queues come back from it.
 */
import type { SavedMask, SavedTensor, Ticket } from '../../checkpoint';
import { loadMasks, masksMismatch, restoreModel, saveMasks, withPrefix, withoutPrefix } from '../../io/saved';
import type { TicketDetector } from '../../masks/channel-masks';
import type { MaskSet } from '../../masks/mask';
import type { Model } from '../../models/model';
import type { SearchState } from './results';

/**
 * One search's part of a checkpoint. Before retraining, `tensors` are the
 * pruned weights retraining starts from and `masks` the kernel masks
 * (`kernel/<layer>`) and the detector queues (`detector-<ratio>/<age>`), whose
 * distances go on being recorded while retraining.
 */
export interface SearchCheckpoint {
  state: SearchState;
  tensors: Record<string, SavedTensor>;
  masks: Record<string, SavedMask>;
  ticket: Ticket | null;
}

/** The masks a checkpoint keeps before retraining: the pruned kernels' and every detector's queue. */
export function savePrunedMasks(kernelMasks: MaskSet, detectors: TicketDetector[]): Record<string, SavedMask> {
  const queues = detectors.flatMap((d, i) => d.masks.map((bits, age) => [`detector-${i}/${age}`, { shape: [bits.length], keep: bits.slice() }]));
  return { ...withPrefix(saveMasks(kernelMasks), 'kernel/'), ...Object.fromEntries(queues) };
}

/** The pruned network retraining starts from, and the detector queues, as the checkpoint left them; returns the kernel masks. */
export function restorePruned(saved: SearchCheckpoint, model: Model, detectors: TicketDetector[], arch: string): MaskSet {
  const kernelMasks = withoutPrefix(saved.masks, 'kernel/');
  const mismatch = masksMismatch(model, kernelMasks);
  if (mismatch) throw new Error(`Cannot resume: the checkpoint does not fit model ${arch}: ${mismatch}`);
  restoreModel(model, saved.tensors, 'Cannot resume: the checkpoint');
  detectors.forEach((d, i) => d.restore(Object.values(withoutPrefix(saved.masks, `detector-${i}/`)).map((m) => m.keep)));
  return loadMasks(kernelMasks);
}
