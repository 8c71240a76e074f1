// LiveRelay's scope option; the scopes themselves, with publishers and players, are tested in packages/e2e.
import { describe, expect, it } from 'vitest';
import { LiveRelay } from '../src/index.js';

describe('LiveRelay.handler stream keys', () => {
  it('rejects a bad scope option', () => {
    expect(() => new LiveRelay({ scope: 'vhost' as 'app' })).toThrow(/scope/);
  });
});
