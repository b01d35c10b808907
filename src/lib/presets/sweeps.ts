/** The sweep presets: the files in experiments/sweeps/, which `npm run sweep` runs as they are. */
import impVsColt from '../../../experiments/sweeps/imp-vs-colt.json' with { type: 'json' };
import earlybirdVsWorm from '../../../experiments/sweeps/earlybird-vs-worm.json' with { type: 'json' };
import impRewinding from '../../../experiments/sweeps/imp-rewinding.json' with { type: 'json' };

export interface SweepPreset {
  id: string;
  title: string;
  file: string;
  text: string;
}

const preset = (id: string, title: string, sweep: object): SweepPreset => ({ id, title, file: `experiments/sweeps/${id}.json`, text: JSON.stringify(sweep, null, 2) });

export const SWEEP_PRESETS: readonly SweepPreset[] = [
  preset('imp-vs-colt', 'IMP vs COLT over their prune rates and seeds', impVsColt),
  preset('earlybird-vs-worm', 'EarlyBird vs WORM over p, ε and seeds', earlybirdVsWorm),
  preset('imp-rewinding', 'IMP with and without rewinding, over rewind points and seeds', impRewinding),
];
