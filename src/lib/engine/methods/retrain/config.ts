/** Retraining an imported ticket: its config block and help. */
import * as v from 'valibot';
import type { MethodSpec } from '../spec';

export const RetrainSchema = v.strictObject({
  /** Only measure the imported ticket (weights under its mask) instead of training it. */
  evaluateOnly: v.optional(v.boolean(), false),
});

export const retrainSpec: MethodSpec<'retrain', typeof RetrainSchema> = {
  name: 'retrain',
  summary: 'Retrain an imported ticket: load its rewind weights, apply its mask and train one round (or only evaluate it).',
  differences: null,
  schema: RetrainSchema,
  // Its one option is set in the config: the page imports the ticket beside the run (TicketPanel).
  panels: [],
  help: {
    title: 'Retrain an imported ticket',
    paragraphs: [
      'A ticket saved from a run (a .safetensors file holding the mask of every prunable layer and the weights to rewind to) can be loaded back: the network is rebuilt from the file’s architecture and width, set to its rewind weights with its mask, then retrained and evaluated on the data chosen here.',
      'Download a run’s ticket with the Download ticket button beside the run, load one with Import ticket, choose the retrain method and press Run; with the config’s retrain.evaluateOnly the ticket is only measured, not trained.',
      'Use it to check that a ticket found on one data set or seed still trains well on another, or to retrain a ticket found earlier without repeating the search.',
    ],
  },
  views: [],
  runsBeside: false,
  takesTicket: true,
};
