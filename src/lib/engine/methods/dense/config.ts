/** The dense baseline's self-description: no options of its own. */
import type { MethodSpec } from '../spec';

export const denseSpec: MethodSpec<'dense', null> = {
  name: 'dense',
  summary: 'Dense baseline: train the full network once, nothing pruned.',
  differences: null,
  schema: null,
  panels: [],
  help: {
    title: 'Dense baseline',
    paragraphs: ['The unpruned network trained once with the same schedule: the accuracy every ticket is compared with.'],
  },
  views: [],
  runsBeside: true,
};
