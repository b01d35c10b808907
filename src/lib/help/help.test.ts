import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DATA_FIELDS, NETWORK_PANEL, TRAINING_PANEL } from '../engine/config-fields';
import { METHODS } from '../engine/config';
import { METHOD_REGISTRY } from '../engine/methods/registry';
import { fieldsOf } from '../engine/methods/spec';
import { CONTROL_HELP, HELP_SECTION_IDS, HELP_SECTIONS, methodSection } from './help';

/** Builder files that draw controls of their own, beside the ones drawn from field metadata. */
const BUILDER_FILES = ['ExperimentBuilder', 'DataSource'].map((name) => new URL(`../ui/${name}.svelte`, import.meta.url));

/** Test ids written out in a builder file (not built in a loop). */
function controlIds(source: string): string[] {
  return [...source.matchAll(/data-testid="([^"{]+)"/g)].map((m) => m[1]);
}

/** Test ids in the builder that are not controls: notes, lists and messages. */
const NOT_CONTROLS = new Set(['method-differences', 'added-files', 'files-error']);

describe('in-app help', () => {
  it('has one section per id, each with text', () => {
    expect(HELP_SECTIONS.map((s) => s.id)).toEqual([...HELP_SECTION_IDS]);
    for (const section of HELP_SECTIONS) expect(section.paragraphs.length, section.id).toBeGreaterThan(0);
  });

  it('every builder control has a one-line explanation pointing at an existing section', () => {
    const written = BUILDER_FILES.flatMap((file) => controlIds(readFileSync(file, 'utf8'))).filter((id) => !NOT_CONTROLS.has(id));
    const drawn = fieldsOf([NETWORK_PANEL, TRAINING_PANEL, ...Object.values(METHOD_REGISTRY).flatMap((m) => m.panels)]).map((f) => f.id);
    drawn.push(...Object.values(DATA_FIELDS).map((f) => f.id));
    const ids = [...written, ...drawn];
    expect(ids.length).toBeGreaterThan(30);
    const missing = ids.filter((id) => !CONTROL_HELP[id]);
    expect(missing).toEqual([]);
    for (const [id, control] of Object.entries(CONTROL_HELP)) {
      expect(HELP_SECTION_IDS, id).toContain(control.section);
      expect(control.line.includes('\n'), id).toBe(false);
    }
  });

  it('a method’s further sections follow its own, named after it: ownership explains white-box and black-box verification apart', () => {
    const ids = HELP_SECTIONS.map((s) => s.id);
    for (const method of Object.values(METHOD_REGISTRY)) {
      const topics = (method.helpSections ?? []).map((topic) => topic.id);
      for (const id of topics) expect(id.startsWith(`${method.name}-`), id).toBe(true);
      expect(ids.slice(ids.indexOf(method.name) + 1, ids.indexOf(method.name) + 1 + topics.length)).toEqual(topics);
    }
    const text = (id: string) => HELP_SECTIONS.find((s) => s.id === id)?.paragraphs.join(' ') ?? '';
    expect(text('ownership-whitebox')).toMatch(/does not prove who wrote a code first/);
    expect(text('ownership-blackbox')).toMatch(/says nothing about the mask/);
    expect(CONTROL_HELP['ownership-triggers'].section).toBe('ownership-blackbox');
  });

  it('every registered method has its own section, including the retrain method', () => {
    for (const name of Object.keys(METHOD_REGISTRY)) expect(methodSection(name), name).toBe(name);
    for (const name of METHODS) expect(methodSection(name), name).not.toBe('pruning');
    expect(methodSection('retrain')).toBe('retrain');
    expect(methodSection('not-a-method')).toBe('pruning');
  });
});
