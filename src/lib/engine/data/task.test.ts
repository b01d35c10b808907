import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../config';
import { checkClassList, checkDisjoint, classRange, sourceClassCount } from './task';

describe('class-subset tasks', () => {
  it('counts the classes of each source and label byte', () => {
    expect(sourceClassCount({ source: 'synthetic', labels: 'fine' })).toBe(10);
    expect(sourceClassCount({ source: 'cifar10', labels: 'fine' })).toBe(10);
    expect(sourceClassCount({ source: 'cifar100', labels: 'fine' })).toBe(100);
    expect(sourceClassCount({ source: 'cifar100', labels: 'coarse' })).toBe(20);
  });

  it('refuses a class the source lacks, naming the path and the range', () => {
    expect(() => checkClassList('kslottery.target', [5, 12], { source: 'cifar10', labels: 'fine' })).toThrow(
      'kslottery.target: class 12 is not in cifar10, whose classes are 0..9',
    );
    expect(() => checkClassList('t', [19, 20], { source: 'cifar100', labels: 'coarse' })).toThrow(/class 20 is not in cifar100 \(coarse labels\)/);
    expect(() => checkClassList('t', [0, 99], { source: 'cifar100', labels: 'fine' })).not.toThrow();
  });

  it('refuses overlapping tasks, naming both paths and the shared classes', () => {
    expect(() => checkDisjoint('a.source', [0, 1, 2], 'a.target', [2, 3])).toThrow('a.source and a.target both hold class 2');
    expect(() => checkDisjoint('a.source', classRange(0, 5), 'a.target', classRange(5, 10))).not.toThrow();
  });

  it('validates data.classes in the config before anything loads', () => {
    expect(parseConfig({ data: { classes: [5, 6, 7] } }).data.classes).toEqual([5, 6, 7]);
    expect(() => parseConfig({ data: { classes: [3] } })).toThrow(/data\.classes: a task needs at least 2 classes/);
    expect(() => parseConfig({ data: { classes: [3, 3] } })).toThrow(/data\.classes: lists a class twice/);
    expect(() => parseConfig({ data: { classes: [1.5, 2] } })).toThrow(/data\.classes\.0/);
    expect(() => parseConfig({ data: { classes: [0, 10] } })).toThrow(ConfigError);
    expect(() => parseConfig({ data: { classes: [0, 10] } })).toThrow('data.classes: class 10 is not in synthetic, whose classes are 0..9');
  });

  it('lists a range in order', () => {
    expect(classRange(5, 10)).toEqual([5, 6, 7, 8, 9]);
    expect(classRange(3, 3)).toEqual([]);
  });
});
