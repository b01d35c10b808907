import { describe, expect, it } from 'vitest';
import { DATA_FIELDS, NETWORK_PANEL, TRAINING_PANEL } from '../config-fields';
import { parseConfig } from '../config';
import { METHOD_REGISTRY, METHODS } from './registry';
import { fieldsOf, readPath, writePath, type FieldSpec } from './spec';

const FIELDS: FieldSpec[] = [
  ...fieldsOf([NETWORK_PANEL, TRAINING_PANEL]),
  ...Object.values(DATA_FIELDS),
  ...Object.values(METHOD_REGISTRY).flatMap((method) => fieldsOf(method.panels)),
];

/** A value the field's control could write, other than the default where it can. */
function sampleValue(field: FieldSpec): unknown {
  switch (field.kind) {
    case 'number':
      return field.max ?? (field.min ?? 0) + 1;
    case 'numbers':
      return [field.min ?? 0, field.max ?? 1];
    case 'boolean':
      return true;
    case 'select':
      return field.options.at(-1)!.value;
    case 'member':
      return [field.item];
  }
}

describe('field metadata', () => {
  it('every field edits a config key the schema knows, and the value it writes is what a run reads', () => {
    const ids = new Set<string>();
    for (const field of FIELDS) {
      // A data folder, so that CIFAR sources validate too.
      const config = parseConfig({ data: { dir: 'data' } }) as unknown as Record<string, unknown>;
      writePath(config, field.path, sampleValue(field));
      const parsed = parseConfig(config);
      expect(readPath(parsed, field.path), field.id).toEqual(sampleValue(field));
      ids.add(field.id);
    }
    expect(ids.size, 'test ids are unique').toBeGreaterThan(30);
  });

  it('a cleared number is unset, and the config fills in its default', () => {
    const config = parseConfig({}) as unknown as Record<string, unknown>;
    writePath(config, 'earlybird.queueLength', undefined);
    expect(parseConfig(config).earlybird.queueLength).toBe(5);
    expect(readPath(config, 'earlybird.nothing.here')).toBeUndefined();
  });
});

describe('method registry', () => {
  it('derives the method list and the config blocks from its entries', () => {
    expect(METHODS).toEqual(Object.keys(METHOD_REGISTRY));
    const config = parseConfig({}) as unknown as Record<string, unknown>;
    for (const method of Object.values(METHOD_REGISTRY)) {
      expect(method.name in config, method.name).toBe(method.schema !== null);
      expect(() => parseConfig({ method: method.name }), method.name).not.toThrow();
    }
    expect(() => parseConfig({ method: 'toy' })).toThrow(/method/);
  });
});
