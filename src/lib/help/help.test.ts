import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { METHODS } from '../engine/config';
import { METHOD_REGISTRY } from '../engine/methods/registry';
import { CONTROL_HELP, HELP_SECTION_IDS, HELP_SECTIONS, methodSection } from './help';

/** The builder's files; every control in them is a data-testid (or a NumberField testid). */
const BUILDER_FILES = ['ExperimentBuilder', 'DataSource', 'PruneOptions', 'EarlyBirdOptions', 'WormOptions', 'ColtOptions'].map(
  (name) => new URL(`../ui/${name}.svelte`, import.meta.url),
);

function controlIds(source: string): string[] {
  const ids = [...source.matchAll(/(?:data-)?testid="([^"{]+)"/g)].map((m) => m[1]);
  // Ids built in a loop: "prune-rate-{field.type}", "control-{control.name}".
  if (source.includes('testid="prune-rate-{field.type}"')) ids.push('prune-rate-conv', 'prune-rate-dense', 'prune-rate-output');
  if (source.includes('data-testid="control-{control.name}"')) ids.push('control-randomReinit', 'control-randomPrune');
  return ids;
}

/** Test ids in the builder that are not controls: notes, lists and messages. */
const NOT_CONTROLS = new Set(['method-differences', 'earlybird-arch-hint', 'added-files', 'files-error']);

describe('in-app help', () => {
  it('has one section per id, each with text', () => {
    expect(HELP_SECTIONS.map((s) => s.id)).toEqual([...HELP_SECTION_IDS]);
    for (const section of HELP_SECTIONS) expect(section.paragraphs.length, section.id).toBeGreaterThan(0);
  });

  it('every builder control has a one-line explanation pointing at an existing section', () => {
    const ids = BUILDER_FILES.flatMap((file) => controlIds(readFileSync(file, 'utf8'))).filter((id) => !NOT_CONTROLS.has(id));
    expect(ids.length).toBeGreaterThan(30);
    const missing = ids.filter((id) => !CONTROL_HELP[id]);
    expect(missing).toEqual([]);
    for (const [id, control] of Object.entries(CONTROL_HELP)) {
      expect(HELP_SECTION_IDS, id).toContain(control.section);
      expect(control.line.includes('\n'), id).toBe(false);
    }
  });

  it('every registered method has its own section, including the retrain method', () => {
    for (const name of Object.keys(METHOD_REGISTRY)) expect(methodSection(name), name).toBe(name);
    for (const name of METHODS) expect(methodSection(name), name).not.toBe('pruning');
    expect(methodSection('retrain')).toBe('retrain');
    expect(methodSection('not-a-method')).toBe('pruning');
  });
});
