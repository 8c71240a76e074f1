import { describe, expect, it } from 'vitest';
import { FlvError, parseScriptData } from '../src/index.js';

describe('FlvError', () => {
  it('takes its offset and cause in the options, and has no cause when given none', () => {
    const cause = new Error('underneath');
    expect(new FlvError('ERR_FLV_TRUNCATED', 'x', { offset: 3, cause })).toMatchObject({
      name: 'FlvError',
      code: 'ERR_FLV_TRUNCATED',
      message: 'x',
      offset: 3,
      cause,
    });
    const bare = new FlvError('ERR_FLV_TRUNCATED', 'x');
    expect(bare.offset).toBeUndefined();
    expect(bare).not.toHaveProperty('cause');
  });

  it('malformed script data keeps the AMF error as its cause', () => {
    let error: unknown;
    try {
      parseScriptData(new Uint8Array([0x02, 0x00, 0x05, 0x61]));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FlvError);
    expect(error).toMatchObject({ code: 'ERR_FLV_SCRIPT_DATA', cause: { code: 'ERR_AMF_TRUNCATED' } });
  });
});
