// `npm start -- --node real` (test/realnode-start): it starts a real node of its own, and one real
// node runs on a machine at a time, so it runs alone after jest.config.js's projects
// (scripts/test.sh runs it when npm test is given no arguments, as .ci/run runs it).
import config from './jest.config.js';

const [kwok] = config.projects;

/** @type {import('jest').Config} */
export default {
  testEnvironment: kwok.testEnvironment,
  extensionsToTreatAsEsm: kwok.extensionsToTreatAsEsm,
  moduleNameMapper: kwok.moduleNameMapper,
  transform: kwok.transform,
  displayName: 'real-node start',
  roots: ['<rootDir>/test/realnode-start'],
  testMatch: ['**/*.test.ts'],
  reporters: config.reporters,
  testTimeout: config.testTimeout,
};
