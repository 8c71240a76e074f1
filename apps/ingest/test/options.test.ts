import { describe, expect, expectTypeOf, it } from 'vitest';
import { OPTIONS, type OptionKey, type OptionValues } from '../src/options.js';

// The option table is typed from its rows: `tsc` (the typecheck task) fails here if a key or a kind drifts.
describe('OPTIONS types', () => {
  it('types each value by its key', () => {
    expectTypeOf<OptionValues['port']>().toEqualTypeOf<number>();
    expectTypeOf<OptionValues['record']>().toEqualTypeOf<boolean>();
    expectTypeOf<OptionValues['apps']>().toEqualTypeOf<string[]>();
    expectTypeOf<OptionValues['logLevel']>().toEqualTypeOf<
      'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'
    >();
    // @ts-expect-error: a key that is not in the table does not compile.
    expectTypeOf<OptionValues['portt']>().toBeNever();
  });

  it('has one key per row, and the key type lists them all', () => {
    const keys: OptionKey[] = OPTIONS.map((o) => o.key);
    expect(new Set(keys).size).toBe(OPTIONS.length);
    expect(new Set(OPTIONS.map((o) => o.flag)).size).toBe(OPTIONS.length);
  });
});
