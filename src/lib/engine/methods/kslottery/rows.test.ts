import { describe, expect, it } from 'vitest';
import type { SavedTensor } from '../../checkpoint';
import {
  changesOutsideSelection,
  jaccard,
  rowCount,
  rowLayers,
  rowStatistics,
  rowValues,
  rowsForK,
  selectRandom,
  selectSignificant,
  selectTopK,
  selectedPerLayer,
  selectionSize,
  transplantRows,
  type RowLayer,
  type RowStat,
} from './rows';

// Conv-4 at width 0.5 on 5 classes, as the model registry lays it out.
const conv4 = [
  { name: 'conv_1', type: 'conv', shape: [3, 3, 3, 32] },
  { name: 'conv_2', type: 'conv', shape: [3, 3, 32, 32] },
  { name: 'conv_3', type: 'conv', shape: [3, 3, 32, 64] },
  { name: 'conv_4', type: 'conv', shape: [3, 3, 64, 64] },
  { name: 'dense_1', type: 'dense', shape: [4096, 128] },
  { name: 'dense_2', type: 'dense', shape: [128, 128] },
  { name: 'dense_3', type: 'output', shape: [128, 5] },
];

describe('rows', () => {
  it('are output filters of conv layers and output units of hidden dense layers; the head is never a row', () => {
    const layers = rowLayers(conv4, 'filters');
    expect(layers.map((l) => [l.name, l.rows, l.rowLength])).toEqual([
      ['conv_1', 32, 27],
      ['conv_2', 32, 288],
      ['conv_3', 64, 288],
      ['conv_4', 64, 576],
      ['dense_1', 128, 4096],
      ['dense_2', 128, 128],
    ]);
    expect(rowCount(layers)).toBe(448);
  });

  it('in the embedding-faithful variant are the input rows of the first dense layer after the flatten', () => {
    expect(rowLayers(conv4, 'embedding').map((l) => [l.name, l.rows, l.rowLength, l.axis])).toEqual([['dense_1', 4096, 128, 'in']]);
    expect(() => rowLayers([{ name: 'conv_1', type: 'conv', shape: [3, 3, 3, 8] }, { name: 'dense_1', type: 'output', shape: [8, 2] }], 'embedding')).toThrow(
      /needs a hidden dense layer/,
    );
  });

  it('slice the tfjs layout: a conv filter is [:, :, :, o], a dense unit [:, o], an embedding row [i, :]', () => {
    // Each value is its own (h, w, in, out) position written as digits.
    const conv: RowLayer = rowLayers([{ name: 'c', type: 'conv', shape: [3, 3, 2, 4] }], 'filters')[0];
    const kernel = new Float32Array(72);
    for (let h = 0; h < 3; h++) for (let w = 0; w < 3; w++) for (let c = 0; c < 2; c++) for (let o = 0; o < 4; o++) kernel[((h * 3 + w) * 2 + c) * 4 + o] = h * 1000 + w * 100 + c * 10 + o;
    const filter = rowValues(conv, kernel, 3);
    expect(filter.length).toBe(18);
    expect([...filter].every((v) => v % 10 === 3)).toBe(true);
    const dense = new Float32Array(6).map((_, i) => i); // [3, 2]
    const [unitLayer] = rowLayers([{ name: 'd', type: 'dense', shape: [3, 2] }], 'filters');
    expect([...rowValues(unitLayer, dense, 1)]).toEqual([1, 3, 5]);
    const [embeddingLayer] = rowLayers([{ name: 'd', type: 'dense', shape: [3, 2] }], 'embedding');
    expect([...rowValues(embeddingLayer, dense, 1)]).toEqual([2, 3]);
  });
});

function stat(layer: string, row: number, d: number, pValue: number, l2: number): RowStat {
  return { layer, row, d, pValue, l2 };
}

describe('selection rules', () => {
  const layers = rowLayers(
    [
      { name: 'a', type: 'conv', shape: [3, 3, 1, 4] },
      { name: 'b', type: 'dense', shape: [5, 6] },
    ],
    'filters',
  );
  const stats: RowStat[] = [
    stat('a', 0, 0.9, 0.001, 0.1),
    stat('a', 1, 0.8, 0.02, 0.2),
    stat('a', 2, 0.1, 0.9, 3),
    stat('a', 3, 0.8, 0.04, 0.05),
    ...[0.3, 0.2, 0.5, 0.05, 0.4, 0.3].map((d, row) => stat('b', row, d, d > 0.35 ? 0.01 : 0.5, row)),
  ];

  it('p < α keeps exactly the rows below α', () => {
    const selection = selectSignificant(layers, stats, 0.03);
    expect([...selection.get('a')!]).toEqual([1, 1, 0, 0]);
    expect([...selection.get('b')!]).toEqual([0, 0, 1, 0, 1, 0]);
    expect(selectionSize(selectSignificant(layers, stats, 0.05))).toBe(5);
  });

  it('top-K by D over all layers takes the K largest, ties to the earlier row', () => {
    const selection = selectTopK(layers, stats, 3, (s) => s.d, 'global');
    expect([...selection.get('a')!]).toEqual([1, 1, 0, 1]);
    expect(selectionSize(selectTopK(layers, stats, 2, (s) => s.d, 'global'))).toBe(2);
    // 0.8 ties between a1 and a3: the earlier wins.
    expect([...selectTopK(layers, stats, 2, (s) => s.d, 'global').get('a')!]).toEqual([1, 1, 0, 0]);
  });

  it('top-K by L2 change ranks by the size of the change, not its distribution', () => {
    const selection = selectTopK(layers, stats, 2, (s) => s.l2, 'global');
    expect([...selection.get('b')!]).toEqual([0, 0, 0, 0, 1, 1]);
    expect([...selection.get('a')!]).toEqual([0, 0, 0, 0]);
    expect(selectionSize(selection)).toBe(2);
    const b = selectTopK(layers, stats, 2, (s) => s.d, 'global');
    expect(jaccard(selection, b)).toBe(0);
    expect(jaccard(b, b)).toBe(1);
  });

  it('per layer gives every layer its share of K', () => {
    // K = 5 of 10 rows: 2 of a's 4, 3 of b's 6.
    const selection = selectTopK(layers, stats, 5, (s) => s.d, 'perLayer');
    expect(selectedPerLayer(layers, selection)).toEqual([
      { name: 'a', rows: 4, selected: 2 },
      { name: 'b', rows: 6, selected: 3 },
    ]);
    expect([...selection.get('b')!]).toEqual([1, 0, 1, 0, 1, 0]);
  });

  it('random rows: K of them, repeatable from the seed, and in the same per-layer counts', () => {
    const one = selectRandom(layers, 4, 'global', 7);
    expect(selectionSize(one)).toBe(4);
    expect(jaccard(one, selectRandom(layers, 4, 'global', 7))).toBe(1);
    expect(jaccard(one, selectRandom(layers, 4, 'global', 8))).toBeLessThan(1);
    expect(selectedPerLayer(layers, selectRandom(layers, 5, 'perLayer', 1)).map((l) => l.selected)).toEqual([2, 3]);
  });

  it('K is a share of the rows below 1 and a count of rows from 1', () => {
    expect(rowsForK(0.05, 448)).toBe(22);
    expect(rowsForK(0.001, 448)).toBe(1);
    expect(rowsForK(30, 448)).toBe(30);
  });
});

describe('D, p and L2 per row', () => {
  it('are zero (p = 1) for rows that did not change, and a permuted row has D = 0 but a positive L2 change', () => {
    const [layer] = rowLayers([{ name: 'd', type: 'dense', shape: [50, 3] }], 'filters');
    const before = Float32Array.from({ length: 150 }, (_, i) => Math.sin(i));
    const after = before.slice();
    // Unit 1: its values permuted (reversed); unit 2: shifted.
    const unit1 = Array.from({ length: 50 }, (_, i) => i * 3 + 1);
    unit1.forEach((index, i) => (after[index] = before[unit1[49 - i]]));
    for (let i = 0; i < 50; i++) after[i * 3 + 2] += 0.5;
    const stats = rowStatistics([layer], new Map([['d', before]]), new Map([['d', after]]));
    expect(stats[0]).toMatchObject({ d: 0, pValue: 1, l2: 0 });
    expect(stats[1].d).toBe(0);
    expect(stats[1].l2).toBeGreaterThan(1);
    expect(stats[2].d).toBeGreaterThan(0.2);
    expect(stats[2].pValue).toBeLessThan(0.05);
  });
});

function tensor(shape: number[], f: (i: number) => number): SavedTensor {
  const size = shape.reduce((a, b) => a * b, 1);
  return { shape, data: Float32Array.from({ length: size }, (_, i) => f(i)) };
}

describe('partial transfer and the frozen-row check', () => {
  const layers = rowLayers(
    [
      { name: 'conv_1', type: 'conv', shape: [3, 3, 1, 2] },
      { name: 'dense_1', type: 'output', shape: [2, 3] },
    ],
    'filters',
  );
  const theta0 = {
    'conv_1/kernel': tensor([3, 3, 1, 2], () => 0),
    'conv_1/bias': tensor([2], () => 0),
    'dense_1/kernel': tensor([2, 3], () => 0),
    'dense_1/bias': tensor([3], () => 0),
  };
  const theta1 = {
    'conv_1/kernel': tensor([3, 3, 1, 2], (i) => 1 + i),
    'conv_1/bias': tensor([2], (i) => 10 + i),
    'dense_1/kernel': tensor([2, 3], () => 5),
    'dense_1/bias': tensor([3], () => 6),
  };
  const filter1 = new Map([['conv_1', Uint8Array.from([0, 1])]]);

  it('copies the selected rows, their biases and θ1’s head into θ0, nothing else', () => {
    const out = transplantRows(theta0, theta1, layers, filter1, 'dense_1');
    expect([...out['conv_1/kernel'].data].map((v, i) => (v === 0 ? 0 : i % 2))).toEqual(Array(18).fill(0).map((_, i) => i % 2));
    expect([...out['conv_1/bias'].data]).toEqual([0, 11]);
    expect([...out['dense_1/kernel'].data]).toEqual([5, 5, 5, 5, 5, 5]);
    // θ0 itself is untouched.
    expect(theta0['conv_1/kernel'].data.every((v) => v === 0)).toBe(true);
  });

  it('finds any value that moved outside the selection', () => {
    const tuned = transplantRows(theta0, theta1, layers, filter1, 'dense_1');
    expect(changesOutsideSelection(theta0, tuned, layers, filter1, ['dense_1/kernel', 'dense_1/bias'])).toEqual([]);
    expect(changesOutsideSelection(theta0, tuned, layers, new Map([['conv_1', Uint8Array.from([1, 0])]]), ['dense_1/kernel', 'dense_1/bias'])).toEqual([
      'conv_1/kernel: 9 value(s) changed outside the selection',
      'conv_1/bias: 1 value(s) changed outside the selection',
    ]);
    expect(changesOutsideSelection(theta0, tuned, layers, filter1, [])).toHaveLength(2);
  });
});
