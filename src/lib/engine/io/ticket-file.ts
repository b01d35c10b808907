/**
 * Lottery tickets as .safetensors files (layout in docs/tickets.md):
 *
 *   mask/<layer>       U8, the kernel's shape, 1 = weight kept (`mask/conv_1`)
 *   weight/<variable>  F32, every parameter and BN statistic to rewind to
 *                      (`weight/conv_1/kernel`, `weight/conv_1/bn_mean`)
 *   score/<layer>      F32, optional: the scores a mask was searched with
 *                      (edge-popup), the kernel's shape; the mask decides
 *   __metadata__       format, version, arch, width, numClasses, method,
 *                      round, sparsity, iteration (all strings); a slim
 *                      ticket (pruned channels cut out) adds `channels`, the
 *                      JSON of its conv layers' output channel counts where
 *                      they differ from the width's ({"conv_1":9}); a
 *                      supernet ticket (SuperTickets) adds `branches`, the
 *                      JSON of its kernel sizes ([3,5]), and its `channels`
 *                      name each stage's width and each branch's channels
 *                      ({"conv_1":8,"conv_1_k3":8,"conv_1_k5":2}); a signed
 *                      ticket adds its ownership key as ownership.layer,
 *                      ownership.row, ownership.col, ownership.version and
 *                      ownership.payloadSha256
 *
 * Kernels keep tfjs's layout: [h, w, in, out] for conv, [in, out] for dense.
 */
import type { SavedMask, SavedTensor, Ticket } from '../checkpoint';
import type { OwnershipKey } from '../ownership/signature';
import { ARCHS, METHODS, type ArchName, type ExperimentConfig, type MethodName } from '../config';
import type { Model } from '../models/model';
import { canonicalJson } from '../identity';
import { branchName } from '../models/layers';
import { archLayers, branchesProblem, channelCountsProblem, channelLayers } from '../models/registry';
import { decodeSafetensors, encodeSafetensors, type SafetensorsTensor } from './safetensors';
import { masksMismatch, weightsMismatch } from './saved';

export const TICKET_FORMAT = 'lottery-lab-ticket';
export const TICKET_FORMAT_VERSION = '1';

const MASK_PREFIX = 'mask/';
const WEIGHT_PREFIX = 'weight/';
const SCORE_PREFIX = 'score/';

export function encodeTicket(ticket: Ticket): Uint8Array {
  const tensors: Record<string, SafetensorsTensor> = {};
  for (const [layer, mask] of Object.entries(ticket.masks)) {
    tensors[`${MASK_PREFIX}${layer}`] = { dtype: 'U8', shape: mask.shape, data: mask.keep };
  }
  for (const [variable, weight] of Object.entries(ticket.weights)) {
    tensors[`${WEIGHT_PREFIX}${variable}`] = { dtype: 'F32', shape: weight.shape, data: weight.data };
  }
  for (const [layer, score] of Object.entries(ticket.scores ?? {})) {
    tensors[`${SCORE_PREFIX}${layer}`] = { dtype: 'F32', shape: score.shape, data: score.data };
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
    ...(ticket.channels ? { channels: canonicalJson(ticket.channels) } : {}),
    ...(ticket.branches ? { branches: JSON.stringify(ticket.branches) } : {}),
    ...(ticket.classes ? { classes: JSON.stringify(ticket.classes) } : {}),
    ...(ticket.ownership ? ownershipMetadata(ticket.ownership) : {}),
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
  const arch = oneOf<ArchName>('arch', ARCHS);
  const width = number('width', (n) => n > 0);
  const branches = metadata.branches === undefined ? null : kernelSizes(metadata.branches, arch);
  const channels = metadata.channels === undefined ? null : channelCounts(metadata.channels, arch, branches, width);
  const layers = prunableLayerNames(arch, branches, channels);
  const numClasses = number('numClasses', (n) => Number.isInteger(n) && n > 0);
  const classes = metadata.classes === undefined ? null : classList(metadata.classes, numClasses);
  // Tensor names come from the file: kept in objects without a prototype, and
  // each must name a layer of the network before it is used.
  const masks: Record<string, SavedMask> = Object.create(null);
  const weights: Record<string, SavedTensor> = Object.create(null);
  const scores: Record<string, SavedTensor> = Object.create(null);
  for (const [name, tensor] of Object.entries(tensors)) {
    if (name.startsWith(MASK_PREFIX)) {
      const layer = name.slice(MASK_PREFIX.length);
      if (!layers.includes(layer)) throw new Error(`Ticket tensor "${name}": "${layer}" is not a prunable layer of ${arch} (${layers.join(', ')})`);
      if (tensor.dtype !== 'U8') throw new Error(`Ticket tensor "${name}" must be U8, not ${tensor.dtype}`);
      const bad = tensor.data.findIndex((bit) => bit !== 0 && bit !== 1);
      if (bad >= 0) throw new Error(`Ticket tensor "${name}" holds ${tensor.data[bad]} at index ${bad}: masks are 0 (pruned) or 1 (kept)`);
      masks[layer] = { shape: tensor.shape, keep: tensor.data as Uint8Array };
    } else if (name.startsWith(WEIGHT_PREFIX)) {
      const variable = name.slice(WEIGHT_PREFIX.length);
      const layer = variable.slice(0, variable.indexOf('/'));
      if (!layers.includes(layer)) {
        throw new Error(`Ticket tensor "${name}": "${variable}" is not a variable of a layer of ${arch} (${layers.join(', ')}), as <layer>/<name>`);
      }
      if (tensor.dtype !== 'F32') throw new Error(`Ticket tensor "${name}" must be F32, not ${tensor.dtype}`);
      const bad = tensor.data.findIndex((value) => !Number.isFinite(value));
      if (bad >= 0) throw new Error(`Ticket tensor "${name}" holds ${tensor.data[bad]} at index ${bad}: weights must be finite numbers`);
      weights[variable] = { shape: tensor.shape, data: tensor.data as Float32Array };
    } else if (name.startsWith(SCORE_PREFIX)) {
      const layer = name.slice(SCORE_PREFIX.length);
      if (!layers.includes(layer)) throw new Error(`Ticket tensor "${name}": "${layer}" is not a prunable layer of ${arch} (${layers.join(', ')})`);
      if (tensor.dtype !== 'F32') throw new Error(`Ticket tensor "${name}" must be F32, not ${tensor.dtype}`);
      const bad = tensor.data.findIndex((value) => !Number.isFinite(value));
      if (bad >= 0) throw new Error(`Ticket tensor "${name}" holds ${tensor.data[bad]} at index ${bad}: scores must be finite numbers`);
      scores[layer] = { shape: tensor.shape, data: tensor.data as Float32Array };
    } else {
      throw new Error(
        `Unexpected tensor "${name}" in the ticket: its tensors are ${MASK_PREFIX}<layer>, ${WEIGHT_PREFIX}<variable> and optionally ${SCORE_PREFIX}<layer>`,
      );
    }
  }
  const misshapen = Object.keys(scores).find((layer) => masks[layer] && scores[layer].shape.join() !== masks[layer].shape.join());
  if (misshapen) {
    throw new Error(`Ticket tensor "${SCORE_PREFIX}${misshapen}" has shape [${scores[misshapen].shape.join(', ')}], its mask [${masks[misshapen].shape.join(', ')}]`);
  }
  // A layer without its mask would train dense without a word.
  const unmasked = layers.find((layer) => !Object.hasOwn(masks, layer));
  if (unmasked) throw new Error(`Ticket has no tensor "${MASK_PREFIX}${unmasked}": a ticket holds a mask for every prunable layer of ${arch} (${layers.join(', ')})`);
  return {
    arch,
    width,
    ...(channels ? { channels } : {}),
    ...(branches ? { branches } : {}),
    numClasses,
    ...(classes ? { classes } : {}),
    method: oneOf<MethodName>('method', METHODS),
    round: number('round', (n) => Number.isInteger(n) && n >= 0),
    sparsity: number('sparsity', (n) => n >= 0 && n <= 1),
    iteration: number('iteration', (n) => Number.isInteger(n) && n >= 0),
    masks,
    weights,
    ...(Object.keys(scores).length > 0 ? { scores } : {}),
    ...(ownershipKey(metadata, number) ?? {}),
  };
}

/** What a metadata field's JSON text holds; undefined when it is not JSON (which no JSON text parses to). */
function jsonValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A ticket's `classes` metadata: the JSON list of the data source's classes its outputs stand for, one per output. */
function classList(text: string, numClasses: number): number[] {
  const parsed = jsonValue(text);
  const valid =
    Array.isArray(parsed) &&
    parsed.length === numClasses &&
    parsed.every((c) => typeof c === 'number' && Number.isInteger(c) && c >= 0) &&
    new Set(parsed).size === parsed.length;
  if (!valid) throw new Error(`Ticket metadata "classes" must be a JSON list of ${numClasses} distinct class numbers (one per output), such as [0,1,2,3,4], got ${JSON.stringify(text)}`);
  return parsed as number[];
}

/** A supernet ticket's `branches` metadata: the JSON list of its odd kernel sizes, checked against the arch. */
function kernelSizes(text: string, arch: ArchName): number[] {
  const parsed = jsonValue(text);
  if (!Array.isArray(parsed) || !parsed.every((k) => typeof k === 'number')) {
    throw new Error(`Ticket metadata "branches" must be a JSON list of odd kernel sizes, such as [3,5], got ${JSON.stringify(text)}`);
  }
  const problem = branchesProblem(arch, parsed);
  if (problem) throw new Error(`Ticket metadata "branches": ${problem.replace(/^model\.branches: /, '')}`);
  return parsed;
}

/**
 * A ticket's `channels` metadata: JSON of conv layer names (a supernet's
 * stages and branches) to output channel counts, checked against the arch.
 * A supernet's search only removes channels, so its counts are also at most
 * what the ticket's own width gives.
 */
function channelCounts(text: string, arch: ArchName, branches: readonly number[] | null, width: number): Record<string, number> {
  const parsed = jsonValue(text);
  if (parsed === undefined) {
    throw new Error(`Ticket metadata "channels" must be JSON of conv layer names to channel counts, such as {"conv_1":9}, got ${JSON.stringify(text)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || Object.keys(parsed).length === 0) {
    throw new Error(`Ticket metadata "channels" must be a non-empty object of conv layer names to channel counts, such as {"conv_1":9}, got ${text}`);
  }
  const problem = channelCountsProblem(arch, parsed as Record<string, unknown>, branches ?? undefined);
  if (problem) throw new Error(`Ticket metadata "channels": ${problem.key}: ${problem.message}`);
  if (branches) {
    const base = channelLayers(arch, width, branches);
    const wider = Object.entries(parsed as Record<string, number>).find(([key, count]) => count > base.get(key)!);
    if (wider) {
      throw new Error(
        `Ticket metadata "channels": ${wider[0]}: ${wider[1]} channels, more than the supernet has at width ${width} (${base.get(wider[0])}): a search only removes channels`,
      );
    }
  }
  // Names from the file: kept in an object without a prototype.
  const counts: Record<string, number> = Object.create(null);
  for (const [layer, count] of Object.entries(parsed)) counts[layer] = count as number;
  return counts;
}

const OWNERSHIP_PREFIX = 'ownership.';

function ownershipMetadata(key: OwnershipKey): Record<string, string> {
  return {
    [`${OWNERSHIP_PREFIX}layer`]: key.layer,
    [`${OWNERSHIP_PREFIX}row`]: String(key.row),
    [`${OWNERSHIP_PREFIX}col`]: String(key.col),
    [`${OWNERSHIP_PREFIX}version`]: String(key.version),
    [`${OWNERSHIP_PREFIX}payloadSha256`]: key.payloadSha256,
  };
}

/** The ownership key of a signed ticket, checked field by field; none when the file carries no ownership.* entry. */
function ownershipKey(metadata: Record<string, string>, number: (key: string, valid: (n: number) => boolean) => number): { ownership: OwnershipKey } | null {
  if (!Object.keys(metadata).some((key) => key.startsWith(OWNERSHIP_PREFIX))) return null;
  const layer = metadata[`${OWNERSHIP_PREFIX}layer`];
  if (typeof layer !== 'string' || layer === '') throw new Error(`Ticket metadata "${OWNERSHIP_PREFIX}layer" must name the signed conv layer`);
  const hash = metadata[`${OWNERSHIP_PREFIX}payloadSha256`];
  if (typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash)) {
    throw new Error(`Ticket metadata "${OWNERSHIP_PREFIX}payloadSha256" must be 64 hex digits, got ${JSON.stringify(hash ?? null)}`);
  }
  const count = (n: number) => Number.isInteger(n) && n >= 0;
  return {
    ownership: {
      layer,
      row: number(`${OWNERSHIP_PREFIX}row`, count),
      col: number(`${OWNERSHIP_PREFIX}col`, count),
      version: number(`${OWNERSHIP_PREFIX}version`, (n) => Number.isInteger(n) && n >= 1 && n <= 40),
      payloadSha256: hash,
    },
  };
}

/**
 * The names of the layers that carry a kernel (and so a mask) in `arch`:
 * `conv_1`, `dense_3`; a supernet's stages carry one per branch left
 * (`conv_1_k3`), a branch with 0 channels has none.
 */
function prunableLayerNames(arch: ArchName, branches: readonly number[] | null, channels: Record<string, number> | null): string[] {
  // Names depend on neither width nor class count; only kernel layers are named.
  const gone = (name: string) => channels !== null && Object.hasOwn(channels, name) && channels[name] === 0;
  return archLayers(arch, 1, 1, undefined, branches ?? undefined).flatMap((layer) => {
    if (!layer.name) return [];
    if (!layer.branches) return [layer.name];
    return layer.branches.map((b) => branchName(layer.name, b.kernel)).filter((name) => !gone(name));
  });
}

type NetworkShape = Pick<ExperimentConfig['model'], 'arch' | 'width' | 'channels' | 'branches'>;

/** A network in words: its arch, width and, for a slim one or a supernet, its channel counts and branches. */
function networkText({ arch, width, channels, branches }: NetworkShape): string {
  return `${arch} at width ${width}${branches ? ` with branches [${branches.join(', ')}]` : ''}${channels ? ` with channels ${canonicalJson(channels)}` : ''}`;
}

/** The config's model block that builds the network `ticket` was drawn on: its arch, width and (a slim or supernet ticket) channels and branches. */
export function ticketModel(ticket: Ticket): ExperimentConfig['model'] {
  return {
    arch: ticket.arch,
    width: ticket.width,
    ...(ticket.channels ? { channels: ticket.channels } : {}),
    ...(ticket.branches ? { branches: ticket.branches } : {}),
  };
}

/** Why `model` (a config's model block) builds another network than the one `ticket` was drawn on; null when it is the same. */
export function ticketNetworkMismatch(ticket: Ticket, model: NetworkShape): string | null {
  const same =
    ticket.arch === model.arch &&
    ticket.width === model.width &&
    canonicalJson(ticket.channels ?? null) === canonicalJson(model.channels ?? null) &&
    canonicalJson(ticket.branches ?? null) === canonicalJson(model.branches ?? null);
  return same ? null : `The ticket is for ${networkText(ticket)}, the config builds ${networkText(model)}`;
}

/** Throws naming the first tensor (or the arch, or the class count) where `ticket` does not fit `model`. */
export function checkTicketFits(ticket: Ticket, model: Model): void {
  const mismatch =
    (ticket.arch !== model.arch ? `it is for ${ticket.arch}, the model is ${model.arch}` : null) ??
    (ticket.numClasses !== model.numClasses ? `it has ${ticket.numClasses} classes, the model ${model.numClasses}` : null) ??
    weightsMismatch(model, ticket.weights) ??
    masksMismatch(model, ticket.masks) ??
    unmaskedLayer(model, ticket.masks);
  if (mismatch) throw new Error(`The ticket does not fit this network: ${mismatch}`);
}

function unmaskedLayer(model: Model, masks: Ticket['masks']): string | null {
  const layer = model.prunable.find((l) => !Object.hasOwn(masks, l.name));
  return layer ? `layer "${layer.name}" has no mask` : null;
}
