import { testReadmeErrorTable, testReadmeExamples } from '@rtmp/testing/readme-test';
import { MP4_ERROR_CODES, Mp4Error, type Mp4ErrorCode } from '../src/index.js';

testReadmeExamples(import.meta.url);
testReadmeErrorTable(import.meta.url, {
  Mp4Error: {
    codes: MP4_ERROR_CODES,
    make: (code) => new Mp4Error(code as Mp4ErrorCode, 'x'),
    is: (value) => value instanceof Mp4Error,
  },
});
