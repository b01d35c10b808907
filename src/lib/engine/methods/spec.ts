/**
 * What a method says about itself, as plain data: its config block with
 * defaults, the field metadata its option panel and help are drawn from,
 * its help section, and the views it emits. One table drives the page's
 * controls, their one-line hints and the help panel, as TensorFlow
 * Playground's state table drives its UI. Nothing here imports the engine's
 * runtime, so Node and the page can read it without training anything.
 */
import type * as v from 'valibot';
import type { ExperimentConfig } from '../config';

/** A config block's schema: every key optional, with its default. */
export type BlockSchema = v.ObjectSchema<v.ObjectEntries, undefined> | v.StrictObjectSchema<v.ObjectEntries, undefined>;

interface FieldBase {
  /** The control's data-testid, and the key of its one-line help. */
  id: string;
  /** What the control is called in the builder and the help. */
  label: string;
  /** One line: what it does, and when to change it. */
  hint: string;
  /** The help section that explains it. */
  section: string;
  /** Dot path of the value in the config (`earlybird.queueLength`, `prune.rate.conv`). */
  path: string;
  /** Shown only when this holds for the config being edited; always shown without it. */
  visibleWhen?: (config: ExperimentConfig) => boolean;
}

/** A number; cleared, it is unset and the config fills in its default. */
export interface NumberFieldSpec extends FieldBase {
  kind: 'number';
  min?: number;
  max?: number;
  step?: number;
  /** What an empty field means: the default, or how it is worked out. */
  placeholder: string | ((config: ExperimentConfig) => string);
  disabledWhen?: (config: ExperimentConfig) => boolean;
}

export interface BooleanFieldSpec extends FieldBase {
  kind: 'boolean';
  /** The checkbox's text, where it says more than the label. */
  text?: string;
}

export interface SelectFieldSpec extends FieldBase {
  kind: 'select';
  options: readonly { value: string; label: string }[];
}

/** A list of numbers, typed as `0.3, 0.5`; cleared, it is unset. */
export interface NumbersFieldSpec extends FieldBase {
  kind: 'numbers';
  min?: number;
  max?: number;
  placeholder: string;
}

/** A checkbox that puts `item` into the list at `path`, or takes it out. */
export interface MemberFieldSpec extends FieldBase {
  kind: 'member';
  item: string;
}

export type FieldSpec = NumberFieldSpec | BooleanFieldSpec | SelectFieldSpec | NumbersFieldSpec | MemberFieldSpec;

/** A line of text between a panel's fields. */
export interface NoteSpec {
  kind: 'note';
  text: string | ((config: ExperimentConfig) => string);
  /** A help section the note links to. */
  section?: string;
  visibleWhen?: (config: ExperimentConfig) => boolean;
  /** A warning: the run will refuse this config as it stands. */
  error?: boolean;
  testid?: string;
}

/** One fieldset of the builder. */
export interface PanelSpec {
  title: string;
  /** The help section its title links to. */
  section: string;
  items: readonly (FieldSpec | NoteSpec)[];
}

export interface HelpText {
  title: string;
  paragraphs: readonly string[];
}

/**
 * A method's self-description. `name` is its config value (`"method": name`),
 * its help section id and, where it has one, the key of its config block.
 */
export interface MethodSpec<Name extends string = string, Schema extends BlockSchema | null = BlockSchema | null> {
  name: Name;
  /** One line for the page's method picker. */
  summary: string;
  /** Where this implementation departs from its paper, shown in the page and README; null if faithful. */
  differences: string | null;
  /** Its own config block `config[name]` with the defaults; null where it reads only shared blocks. */
  schema: Schema;
  /** The builder's option panels for it, in order. */
  panels: readonly PanelSpec[];
  help: HelpText;
  /**
   * Help sections of its own after the main one, where one topic needs a
   * section to link to (ownership's white-box and black-box verification);
   * each id starts with the method's name and a hyphen.
   */
  helpSections?: readonly (HelpText & { id: `${Name}-${string}` })[];
  /** The `view` kinds its run emits; the page draws each with the component registered for it. */
  views: readonly string[];
  /** Offered under "Also run" beside another method; false where it needs an input of its own (retrain's ticket). */
  runsBeside: boolean;
  /**
   * Starts from an imported ticket (the page's Import ticket, the CLI's
   * `--ticket`): `true` needs one; `'optional'` uses one when given and
   * otherwise makes its own start (jackpot pre-trains); absent for methods
   * that draw their own.
   */
  takesTicket?: true | 'optional';
}

/** Every field of some panels, in order. */
export function fieldsOf(panels: readonly PanelSpec[]): FieldSpec[] {
  return panels.flatMap((panel) => panel.items.filter((item): item is FieldSpec => item.kind !== 'note'));
}

/** The value at a dot path of a config (undefined where a step is missing). */
export function readPath(config: unknown, path: string): unknown {
  let value: unknown = config;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Sets the value at a dot path, creating objects on the way; undefined leaves it unset, so the default applies. */
export function writePath(config: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let target = config;
  for (const key of keys.slice(0, -1)) {
    const next = target[key];
    if (typeof next !== 'object' || next === null) target[key] = {};
    target = target[key] as Record<string, unknown>;
  }
  target[keys.at(-1)!] = value;
}
