import { testReadmeExamples } from '@rtmp/testing/readme-test';

testReadmeExamples(import.meta.url);
