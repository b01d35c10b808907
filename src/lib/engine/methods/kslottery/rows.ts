/**
 * KS-Lottery's parameter rows in the lab's CNNs, and the rules that pick
 * some of them. Plain TypeScript over kernels read back as Float32Arrays
 * (tfjs layout: conv `[h, w, in, out]`, dense `[in, out]`), so the same
 * code serves the method, its checks and its tests.
 *
 * Two readings of "row":
 * - `filters`: every output filter of a conv layer (its h·w·in values) and
 *   every output unit of a hidden dense layer (its `in` values); the
 *   filter's bias (and BatchNorm scale and shift) go with it.
 * - `embedding`: the input rows of the first dense layer after the flatten,
 *   one per flattened (y, x, channel) position, each `units` values long:
 *   the closest thing in a CNN to the paper's token-embedding rows.
 */
import type { SavedTensor } from '../../checkpoint';
import { Rng } from '../../rng';
import { ksTwoSample } from './ks';

export type RowKind = 'filters' | 'embedding';
export type SelectionScope = 'global' | 'perLayer';

/** A kernel whose rows are tested. */
export interface RowLayer {
  name: string;
  /** The kernel's shape, tfjs layout. */
  shape: readonly number[];
  rows: number;
  rowLength: number;
  /** `out`: a row is a slice along the last axis (a filter, a unit); `in`: along the first (an embedding row). */
  axis: 'out' | 'in';
}

/** The layers whose rows a variant tests: the head is always new and always trained, so it is never a row. */
export function rowLayers(prunable: readonly { name: string; type: string; shape: readonly number[] }[], kind: RowKind): RowLayer[] {
  if (kind === 'embedding') {
    const first = prunable.find((l) => l.type === 'dense');
    if (!first) throw new Error('kslottery.rows "embedding" needs a hidden dense layer after the flatten; this network has none');
    return [{ name: first.name, shape: first.shape, rows: first.shape[0], rowLength: first.shape[1], axis: 'in' }];
  }
  return prunable
    .filter((l) => l.type !== 'output')
    .map((l) => {
      const rows = l.shape.at(-1)!;
      const size = l.shape.reduce((a, b) => a * b, 1);
      return { name: l.name, shape: l.shape, rows, rowLength: size / rows, axis: 'out' as const };
    });
}

export function rowCount(layers: readonly RowLayer[]): number {
  return layers.reduce((n, l) => n + l.rows, 0);
}

/** The flat indices of one row's values in its kernel. */
export function rowIndices(layer: RowLayer, row: number): Int32Array {
  const out = new Int32Array(layer.rowLength);
  for (let i = 0; i < layer.rowLength; i++) out[i] = layer.axis === 'out' ? i * layer.rows + row : row * layer.rowLength + i;
  return out;
}

export function rowValues(layer: RowLayer, kernel: Float32Array, row: number): Float32Array {
  const indices = rowIndices(layer, row);
  return Float32Array.from(indices, (i) => kernel[i]);
}

/** One row's change between θ0 and θ1. */
export interface RowStat {
  layer: string;
  row: number;
  /** Two-sample KS statistic of its values before and after. */
  d: number;
  pValue: number;
  /** ‖θ1 − θ0‖ over the row. */
  l2: number;
}

/** D, p and the L2 change of every row, layer by layer in order. */
export function rowStatistics(layers: readonly RowLayer[], before: ReadonlyMap<string, Float32Array>, after: ReadonlyMap<string, Float32Array>): RowStat[] {
  const stats: RowStat[] = [];
  for (const layer of layers) {
    const k0 = before.get(layer.name)!;
    const k1 = after.get(layer.name)!;
    for (let row = 0; row < layer.rows; row++) {
      const a = rowValues(layer, k0, row);
      const b = rowValues(layer, k1, row);
      const { statistic, pValue } = ksTwoSample(a, b);
      let l2 = 0;
      for (let i = 0; i < a.length; i++) l2 += (b[i] - a[i]) ** 2;
      stats.push({ layer: layer.name, row, d: statistic, pValue, l2: Math.sqrt(l2) });
    }
  }
  return stats;
}

/** Selected rows: one flag per row, by layer name (1 = tuned or transplanted). */
export type RowSelection = Map<string, Uint8Array>;

function emptySelection(layers: readonly RowLayer[]): RowSelection {
  return new Map(layers.map((l) => [l.name, new Uint8Array(l.rows)]));
}

export function selectionSize(selection: RowSelection): number {
  let n = 0;
  for (const flags of selection.values()) for (const f of flags) n += f;
  return n;
}

/** Rows whose p-value is below α: the paper's "certified" ticket (uncorrected for the number of rows). */
export function selectSignificant(layers: readonly RowLayer[], stats: readonly RowStat[], alpha: number): RowSelection {
  const selection = emptySelection(layers);
  for (const s of stats) if (s.pValue < alpha) selection.get(s.layer)![s.row] = 1;
  return selection;
}

/** How many rows each layer gives to a selection of `k` rows: all from one pool (global), or the same share of every layer. */
export function perLayerCounts(layers: readonly RowLayer[], k: number, scope: SelectionScope): Map<string, number> | null {
  if (scope === 'global') return null;
  const total = rowCount(layers);
  return new Map(layers.map((l) => [l.name, Math.min(l.rows, Math.max(1, Math.round((k * l.rows) / total)))]));
}

/** The rows of K a sweep entry means: a share of the rows (below 1) or a count of rows (a whole number from 1). */
export function rowsForK(k: number, total: number): number {
  return k < 1 ? Math.max(1, Math.round(k * total)) : k;
}

/**
 * The `k` rows with the highest score, over all layers (global) or the same
 * share of each layer (per layer); ties go to the earlier row, so a
 * selection is repeatable.
 */
export function selectTopK(layers: readonly RowLayer[], stats: readonly RowStat[], k: number, score: (s: RowStat) => number, scope: SelectionScope): RowSelection {
  const selection = emptySelection(layers);
  const pick = (pool: readonly RowStat[], count: number) => {
    const order = pool.map((s, i) => ({ s, i, v: score(s) })).sort((a, b) => b.v - a.v || a.i - b.i);
    for (const { s } of order.slice(0, count)) selection.get(s.layer)![s.row] = 1;
  };
  const counts = perLayerCounts(layers, k, scope);
  if (!counts) pick(stats, k);
  else for (const l of layers) pick(stats.filter((s) => s.layer === l.name), counts.get(l.name)!);
  return selection;
}

/** `k` rows drawn uniformly (from all rows, or per layer in the same counts as `selectTopK`), seeded. */
export function selectRandom(layers: readonly RowLayer[], k: number, scope: SelectionScope, seed: number): RowSelection {
  const rng = new Rng(seed);
  const selection = emptySelection(layers);
  const all = layers.flatMap((l) => Array.from({ length: l.rows }, (_, row) => ({ layer: l.name, row })));
  const draw = (pool: { layer: string; row: number }[], count: number) => {
    const items = pool.slice();
    // A partial Fisher-Yates shuffle: the first `count` are a uniform sample.
    for (let i = 0; i < count; i++) {
      const j = i + rng.int(items.length - i);
      [items[i], items[j]] = [items[j], items[i]];
      selection.get(items[i].layer)![items[i].row] = 1;
    }
  };
  const counts = perLayerCounts(layers, k, scope);
  if (!counts) draw(all, k);
  else for (const l of layers) draw(all.filter((r) => r.layer === l.name), counts.get(l.name)!);
  return selection;
}

/** |A ∩ B| / |A ∪ B| of two selections over the same rows (1 when both are empty). */
export function jaccard(a: RowSelection, b: RowSelection): number {
  let both = 0;
  let either = 0;
  for (const [name, flags] of a) {
    const other = b.get(name)!;
    for (let i = 0; i < flags.length; i++) {
      both += flags[i] & other[i];
      either += flags[i] | other[i];
    }
  }
  return either === 0 ? 1 : both / either;
}

/** Selected rows per layer, in layer order. */
export function selectedPerLayer(layers: readonly RowLayer[], selection: RowSelection): { name: string; rows: number; selected: number }[] {
  return layers.map((l) => ({ name: l.name, rows: l.rows, selected: selection.get(l.name)!.reduce((n, f) => n + f, 0) }));
}

/**
 * The variables that move with a row beside its kernel slice: for a
 * filter or unit, its bias and BatchNorm scale and shift (one value per
 * row); an embedding row has none.
 */
export function rowCompanions(layer: RowLayer): string[] {
  return layer.axis === 'out' ? [`${layer.name}/bias`, `${layer.name}/bn_gamma`, `${layer.name}/bn_beta`] : [];
}

/**
 * Partial transfer: θ0 with the selected rows (and their companions) copied
 * from θ1, and θ1's head. Variables absent from a model (no BN) are skipped.
 */
export function transplantRows(
  theta0: Record<string, SavedTensor>,
  theta1: Record<string, SavedTensor>,
  layers: readonly RowLayer[],
  selection: RowSelection,
  head: string,
): Record<string, SavedTensor> {
  const out: Record<string, SavedTensor> = Object.create(null);
  for (const [name, t] of Object.entries(theta0)) out[name] = { shape: t.shape, data: t.data.slice() };
  for (const name of [`${head}/kernel`, `${head}/bias`]) out[name] = { shape: theta1[name].shape, data: theta1[name].data.slice() };
  for (const layer of layers) {
    const flags = selection.get(layer.name)!;
    const kernel = out[`${layer.name}/kernel`].data;
    const source = theta1[`${layer.name}/kernel`].data;
    const companions = rowCompanions(layer).filter((name) => out[name]);
    for (let row = 0; row < layer.rows; row++) {
      if (!flags[row]) continue;
      for (const i of rowIndices(layer, row)) kernel[i] = source[i];
      for (const name of companions) out[name].data[row] = theta1[name].data[row];
    }
  }
  return out;
}

/**
 * Every value outside the selection that differs in bits between `before`
 * and `after`: rows not selected, their companions, and every other
 * variable except the head and those listed in `trained`. Empty when
 * partial tuning froze what it should.
 */
export function changesOutsideSelection(
  before: Record<string, SavedTensor>,
  after: Record<string, SavedTensor>,
  layers: readonly RowLayer[],
  selection: RowSelection,
  trained: readonly string[],
): string[] {
  const allowed = new Map<string, Set<number>>();
  for (const layer of layers) {
    const flags = selection.get(layer.name)!;
    const kernelIndices = new Set<number>();
    const rowsKept = new Set<number>();
    for (let row = 0; row < layer.rows; row++) {
      if (!flags[row]) continue;
      for (const i of rowIndices(layer, row)) kernelIndices.add(i);
      rowsKept.add(row);
    }
    allowed.set(`${layer.name}/kernel`, kernelIndices);
    for (const name of rowCompanions(layer)) allowed.set(name, rowsKept);
  }
  const changes: string[] = [];
  for (const [name, t] of Object.entries(before)) {
    if (trained.includes(name)) continue;
    const a = new Uint32Array(t.data.buffer, t.data.byteOffset, t.data.length);
    const b = new Uint32Array(after[name].data.buffer, after[name].data.byteOffset, after[name].data.length);
    const free = allowed.get(name);
    let count = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !free?.has(i)) count++;
    if (count > 0) changes.push(`${name}: ${count} value(s) changed outside the selection`);
  }
  return changes;
}
