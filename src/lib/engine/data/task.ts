/**
 * Tasks made of a subset of a data source's classes ("CIFAR-10 classes 0-4"),
 * relabelled 0..n-1 in the order given. One mechanism for every use: the
 * config's `data.classes` (any method trains on a subset), and the source and
 * target tasks of transfer methods, which check their lists with the same
 * functions so that every refusal reads alike.
 */
import * as v from 'valibot';
import type { DataConfig } from '../config';
import { ConfigError } from '../config-error';
import { cifarClassNames } from './cifar';
import { SYNTHETIC_NUM_CLASSES } from './synthetic';

/** Distinct class indices, at least two (one class is no classification task). */
export const classListSchema = v.pipe(
  v.array(v.pipe(v.number(), v.integer(), v.minValue(0))),
  v.minLength(2, 'a task needs at least 2 classes'),
  v.check((classes) => new Set(classes).size === classes.length, 'lists a class twice'),
);

/** How many classes the configured source has (CIFAR-100 depends on its label byte). */
export function sourceClassCount(data: Pick<DataConfig, 'source' | 'labels'>): number {
  return data.source === 'synthetic' ? SYNTHETIC_NUM_CLASSES : cifarClassNames(data.source, data.labels).length;
}

/** Throws, naming `path`, when a class is not one of the source's. */
export function checkClassList(path: string, classes: readonly number[], data: Pick<DataConfig, 'source' | 'labels'>): void {
  const count = sourceClassCount(data);
  const missing = classes.filter((label) => label >= count);
  if (missing.length > 0) {
    const what = data.source === 'cifar100' ? `cifar100 (${data.labels} labels)` : data.source;
    throw new ConfigError(
      `Invalid experiment config: ${path}: class ${missing.join(', ')} is not in ${what}, whose classes are 0..${count - 1}`,
    );
  }
}

/** Throws, naming both paths, when two tasks share a class. */
export function checkDisjoint(pathA: string, a: readonly number[], pathB: string, b: readonly number[]): void {
  const shared = a.filter((label) => b.includes(label));
  if (shared.length > 0) {
    throw new ConfigError(`Invalid experiment config: ${pathA} and ${pathB} both hold class ${shared.join(', ')}; the tasks must not overlap`);
  }
}

/** The classes from..to-1, in order: COLT's segments and the usual "classes 0-4". */
export function classRange(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}
