/**
 * SuperTickets' two-in-one ticket as a ticket file: the searched
 * architecture (`branches` + `channels`, the MODEL block that rebuilds it),
 * the final mask, and the initial weights of the surviving channels to
 * retrain from.
 *
 * A search leaves each branch's channels at arbitrary positions of its
 * stage's output, while a network built from channel counts lays a stage's
 * first branch on its leading channels and the others on its trailing ones
 * (`stageBranches`). Both compute the same function up to the order of each
 * stage's channels when every signature (the set of branches that add to a
 * stage channel) occurs as often in both; with two branches it always does.
 * The ticket is the searched network reordered into the rebuilt layout: each
 * branch's filters and BN channels, the next stage's input channels and the
 * first dense layer's rows after the flatten, masks alike.
 */
import type { SavedMask, SavedTensor, Ticket } from '../../checkpoint';
import type { ExperimentConfig } from '../../config';
import { branchName, walkLayers, type Layer, type StageBranch } from '../../models/layers';
import { archLayers } from '../../models/registry';

/** order[j] is the old index that lands at new index j. */
type Order = readonly number[];

/** `values` (row-major, `shape`) with axis `axis` reordered so that new index j holds old index order[j]. */
export function reorderAxis<T extends Float32Array | Uint8Array>(values: T, shape: readonly number[], axis: number, order: Order): T {
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const length = shape[axis];
  if (order.length !== length) throw new RangeError(`Axis ${axis} has ${length} entries, the order ${order.length}`);
  const out = new (values.constructor as new (length: number) => T)(values.length);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < length; j++) {
      const from = (o * length + order[j]) * inner;
      out.set(values.subarray(from, from + inner), (o * length + j) * inner);
    }
  }
  return out;
}

/** The kernel sizes adding to each stage channel, as a key ("3,5"). */
function signatures(width: number, branches: readonly StageBranch[]): string[] {
  const adding: number[][] = Array.from({ length: width }, () => []);
  for (const b of branches) for (const p of b.positions) adding[p].push(b.kernel);
  return adding.map((kernels) => kernels.sort((a, b) => a - b).join(','));
}

/**
 * How one searched stage maps onto the rebuilt one: the stage's channel
 * order and each branch's; throws when the rebuilt layout cannot hold the
 * searched one (possible with three branches or more).
 */
function stageOrders(stage: string, searched: readonly StageBranch[], rebuilt: readonly StageBranch[], width: number): { stage: Order; branches: Map<number, Order> } {
  const from = signatures(width, searched);
  const to = signatures(width, rebuilt);
  const waiting = new Map<string, number[]>();
  from.forEach((signature, p) => waiting.set(signature, [...(waiting.get(signature) ?? []), p]));
  const order = to.map((signature) => waiting.get(signature)?.shift());
  if (order.some((p) => p === undefined)) {
    throw new Error(
      `${stage}: the searched layout of its branches cannot be rebuilt from channel counts (its channels are added by branches ${describe(from)}, ` +
        `a network built from the counts would have ${describe(to)}); with more than two branches a ticket file holds only layouts the counts rebuild`,
    );
  }
  const stageOrder = order as number[];
  const branches = new Map<number, Order>();
  for (const b of rebuilt) {
    const old = searched.find((s) => s.kernel === b.kernel)!;
    branches.set(
      b.kernel,
      b.positions.map((j) => old.positions.indexOf(stageOrder[j])),
    );
  }
  return { stage: stageOrder, branches };
}

function describe(signatures: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const s of signatures) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${n} x {${s}}`).join(', ');
}

/** How each variable of the searched network is reordered: per variable, the axes and their orders. */
function variableOrders(searched: readonly Layer[], rebuilt: readonly Layer[], inputShape: readonly number[]): Map<string, [axis: number, order: Order][]> {
  const orders = new Map<string, [number, Order][]>();
  const add = (variable: string, axis: number, order: Order | null) => {
    if (order) orders.set(variable, [...(orders.get(variable) ?? []), [axis, order]]);
  };
  // The channel order of the activation entering each layer (null: unchanged).
  let incoming: Order | null = null;
  const steps = [...walkLayers(searched, inputShape as [number, number, number])];
  steps.forEach(({ layer, input, output }, i) => {
    const target = rebuilt[i];
    if (layer.branches) {
      const { stage, branches } = stageOrders(layer.name, layer.branches, target.branches!, output[2]);
      for (const [kernel, order] of branches) {
        const name = branchName(layer.name, kernel);
        add(`${name}/kernel`, 2, incoming);
        add(`${name}/kernel`, 3, order);
        for (const suffix of ['bn_gamma', 'bn_beta', 'bn_mean', 'bn_variance']) add(`${name}/${suffix}`, 0, order);
      }
      incoming = stage;
    } else if (input.length === 3 && output.length === 1 && incoming) {
      // The flatten (NHWC): every pixel's channels take the stage's order.
      const channels = input[2];
      const pixels = input[0] * input[1];
      const order = incoming;
      incoming = Array.from({ length: pixels * channels }, (_, j) => Math.floor(j / channels) * channels + order[j % channels]);
    } else if (layer.name) {
      // Any other kernel layer (a dense one) takes the order on its inputs and gives its own.
      add(`${layer.name}/kernel`, input.length === 3 ? 2 : 0, incoming);
      incoming = null;
    }
  });
  return orders;
}

function reorder<T extends Float32Array | Uint8Array>(values: T, shape: readonly number[], axes: [number, Order][] | undefined): T {
  return (axes ?? []).reduce((out, [axis, order]) => reorderAxis(out, shape, axis, order), values);
}

export interface SearchedTicket {
  /** The searched network's layers (channels cut out). */
  layers: readonly Layer[];
  inputShape: readonly number[];
  numClasses: number;
  /** `model.channels` of the searched network: each stage's width and each branch's channels. */
  channels: Record<string, number>;
  /** Its initial weights (the surviving channels' values at initialisation), by variable name. */
  weights: Record<string, SavedTensor>;
  /** Its final mask, by prunable layer name. */
  masks: Record<string, SavedMask>;
}

/**
 * The ticket file of a searched supernet: its weights and masks reordered
 * into the network `ticketModel` builds. Throws, naming the stage, when that
 * network cannot hold the searched layout.
 */
export function supernetTicket(config: ExperimentConfig, searched: SearchedTicket, sparsity: number): Ticket {
  // A transfer test draws the ticket on its source classes.
  const classes = config.supertickets.transferSource ?? config.data.classes;
  const branches = config.model.branches!;
  const rebuilt = archLayers(config.model.arch, config.model.width, searched.numClasses, searched.channels, branches);
  const orders = variableOrders(searched.layers, rebuilt, searched.inputShape);
  const weights: Record<string, SavedTensor> = {};
  for (const [name, w] of Object.entries(searched.weights)) weights[name] = { shape: w.shape, data: reorder(w.data, w.shape, orders.get(name)) };
  const masks: Record<string, SavedMask> = {};
  for (const [name, m] of Object.entries(searched.masks)) masks[name] = { shape: m.shape, keep: reorder(m.keep, m.shape, orders.get(`${name}/kernel`)) };
  return {
    arch: config.model.arch,
    width: config.model.width,
    channels: searched.channels,
    branches: [...branches],
    numClasses: searched.numClasses,
    ...(classes ? { classes: [...classes] } : {}),
    method: 'supertickets',
    round: 0,
    sparsity,
    iteration: 0,
    masks,
    weights,
  };
}
