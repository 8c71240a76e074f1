import { testReadmeErrorTable } from '@rtmp/testing/readme-test';
import { describe, expect, it } from 'vitest';
import { CLUSTER_ERROR_CODES, ClusterError } from '../src/index.js';

describe('ClusterError', () => {
  testReadmeErrorTable(import.meta.url, {
    ClusterError: {
      codes: CLUSTER_ERROR_CODES,
      make: (code) => new ClusterError(code as ClusterError['code'], 'x'),
      is: (value) => value instanceof ClusterError,
    },
  });

  it('carries its code and cause; instanceof goes by the brand, not the prototype', () => {
    const cause = new Error('ECONNREFUSED');
    const e = new ClusterError('ERR_CLUSTER_REGISTRY_UNAVAILABLE', 'x', { cause });
    expect(e).toMatchObject({ name: 'ClusterError', code: 'ERR_CLUSTER_REGISTRY_UNAVAILABLE', cause });
    expect(new Error('x')).not.toBeInstanceOf(ClusterError);
    expect({ [Symbol.for('@rtmp/cluster.ClusterError')]: true }).toBeInstanceOf(ClusterError);
  });
});
