import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METHOD_REGISTRY } from '../../engine/methods/registry';

/** View kinds registry.ts maps to a component (its components need a DOM, so the file is read, not imported). */
const DRAWN = new Set([...readFileSync(new URL('./registry.ts', import.meta.url), 'utf8').matchAll(/VIEW_COMPONENTS\['([^']+)'\] =/g)].map((m) => m[1]));

describe('method views', () => {
  it('every view kind a registered method declares is drawn by a component (others would show as raw data)', () => {
    const declared = Object.values(METHOD_REGISTRY).flatMap((method) => method.views.map((view) => ({ method: method.name, view })));
    expect(declared.length).toBeGreaterThan(0);
    expect(declared.filter(({ view }) => !DRAWN.has(view))).toEqual([]);
  });
});
