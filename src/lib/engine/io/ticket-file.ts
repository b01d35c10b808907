/**
 * Lottery tickets as .safetensors files (layout in docs/tickets.md):
 *
 *   mask/<layer>       U8, the kernel's shape, 1 = weight kept (`mask/conv_1`)
 *   weight/<variable>  F32, every parameter and BN statistic to rewind to
 *                      (`weight/conv_1/kernel`, `weight/conv_1/bn_mean`)
 *   __metadata__       format, version, arch, width, numClasses, method,
 *                      round, sparsity, iteration (all strings)
 *
 * Kernels keep tfjs's layout: [h, w, in, out] for conv, [in, out] for dense.
 */
import type { SavedMask, SavedTensor, Ticket } from '../checkpoint';
import { ARCHS, METHODS, type ArchName, type MethodName } from '../config';
import type { Model } from '../models/model';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from './safetensors';
import { masksMismatch, weightsMismatch } from './saved';

export const TICKET_FORMAT = 'lottery-lab-ticket';
export const TICKET_FORMAT_VERSION = '1';

const MASK_PREFIX = 'mask/';
const WEIGHT_PREFIX = 'weight/';

export function encodeTicket(ticket: Ticket): Uint8Array {
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const [layer, mask] of Object.entries(ticket.masks)) {
    tensors[`${MASK_PREFIX}${layer}`] = { dtype: 'U8', shape: mask.shape, data: mask.keep };
  }
  for (const [variable, weight] of Object.entries(ticket.weights)) {
    tensors[`${WEIGHT_PREFIX}${variable}`] = { dtype: 'F32', shape: weight.shape, data: weight.data };
  }
  return encodeSafetensors(tensors, {
    format: TICKET_FORMAT,
    version: TICKET_FORMAT_VERSION,
    arch: ticket.arch,
    width: String(ticket.width),
    numClasses: String(ticket.numClasses),
    method: ticket.method,
    round: String(ticket.round),
    sparsity: String(ticket.sparsity),
    iteration: String(ticket.iteration ?? 0),
  });
}

/** A ticket from a .safetensors file; throws naming what is wrong (the format, a metadata field, a tensor). */
export function decodeTicket(bytes: Uint8Array): Ticket {
  let file;
  try {
    file = decodeSafetensors(bytes);
  } catch (error) {
    throw new Error(`Not a valid .safetensors file: ${(error as Error).message}`);
  }
  const { metadata, tensors } = file;
  if (metadata.format !== TICKET_FORMAT) {
    throw new Error(
      `Not a Lottery Lab ticket: metadata "format" is ${JSON.stringify(metadata.format ?? null)}, expected "${TICKET_FORMAT}"`,
    );
  }
  if (metadata.version !== TICKET_FORMAT_VERSION) {
    throw new Error(`Ticket format version ${JSON.stringify(metadata.version ?? null)} is not supported (expected ${TICKET_FORMAT_VERSION})`);
  }
  const number = (key: string, valid: (n: number) => boolean): number => {
    const value = Number(metadata[key]);
    if (metadata[key] === undefined || metadata[key] === '' || !valid(value)) {
      throw new Error(`Ticket metadata "${key}" must be a number in range, got ${JSON.stringify(metadata[key] ?? null)}`);
    }
    return value;
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[]): T => {
    if (!(allowed as readonly string[]).includes(metadata[key])) {
      throw new Error(`Ticket metadata "${key}" is ${JSON.stringify(metadata[key] ?? null)}, expected one of ${allowed.join(', ')}`);
    }
    return metadata[key] as T;
  };
  const masks: Record<string, SavedMask> = {};
  const weights: Record<string, SavedTensor> = {};
  for (const [name, tensor] of Object.entries(tensors)) {
    if (name.startsWith(MASK_PREFIX)) {
      if (tensor.dtype !== 'U8') throw new Error(`Ticket tensor "${name}" must be U8, not ${tensor.dtype}`);
      const bad = tensor.data.findIndex((bit) => bit !== 0 && bit !== 1);
      if (bad >= 0) throw new Error(`Ticket tensor "${name}" holds ${tensor.data[bad]} at index ${bad}: masks are 0 (pruned) or 1 (kept)`);
      masks[name.slice(MASK_PREFIX.length)] = { shape: tensor.shape, keep: tensor.data as Uint8Array };
    } else if (name.startsWith(WEIGHT_PREFIX)) {
      if (tensor.dtype !== 'F32') throw new Error(`Ticket tensor "${name}" must be F32, not ${tensor.dtype}`);
      weights[name.slice(WEIGHT_PREFIX.length)] = { shape: tensor.shape, data: tensor.data as Float32Array };
    } else {
      throw new Error(`Unexpected tensor "${name}" in the ticket: its tensors are ${MASK_PREFIX}<layer> and ${WEIGHT_PREFIX}<variable>`);
    }
  }
  return {
    arch: oneOf<ArchName>('arch', ARCHS),
    width: number('width', (n) => n > 0),
    numClasses: number('numClasses', (n) => Number.isInteger(n) && n > 0),
    method: oneOf<MethodName>('method', METHODS),
    round: number('round', (n) => Number.isInteger(n) && n >= 0),
    sparsity: number('sparsity', (n) => n >= 0 && n <= 1),
    iteration: number('iteration', (n) => Number.isInteger(n) && n >= 0),
    masks,
    weights,
  };
}

/** Throws naming the first tensor (or the arch, or the class count) where `ticket` does not fit `model`. */
export function checkTicketFits(ticket: Ticket, model: Model): void {
  const mismatch =
    (ticket.arch !== model.arch ? `it is for ${ticket.arch}, the model is ${model.arch}` : null) ??
    (ticket.numClasses !== model.numClasses ? `it has ${ticket.numClasses} classes, the model ${model.numClasses}` : null) ??
    weightsMismatch(model, ticket.weights) ??
    masksMismatch(model, ticket.masks);
  if (mismatch) throw new Error(`The ticket does not fit this network: ${mismatch}`);
}
