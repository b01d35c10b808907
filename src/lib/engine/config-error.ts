/**
 * A config the lab refuses; the message names the field. Its own module so
 * that modules config.ts builds its schema from can throw it without an
 * import cycle.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
