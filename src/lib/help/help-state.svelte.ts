/**
 * Which help section is open. Help never touches the address bar: the URL
 * hash holds the experiment, so links into the help are buttons that call
 * `openHelp` instead of #anchors.
 */
import type { HelpSectionId } from './help';

class HelpState {
  /** The section asked for; null while the panel is closed. */
  section = $state<HelpSectionId | null>(null);
  /** Counts requests, so asking again for the section already shown scrolls back to it. */
  request = $state(0);

  open(section: HelpSectionId): void {
    this.section = section;
    this.request++;
  }

  close(): void {
    this.section = null;
  }
}

export const help = new HelpState();
