// Tests run as native ES modules (client-node 2.x ships ESM only), compiled by ts-jest.
// Two projects, each with its own cluster started before its first test file and stopped after
// its last (Jest runs a project's global setup only when one of its files runs):
// - kwok: every file outside test/realnode, on a control plane whose pods kwok fakes;
// - real-node: test/realnode, on a control plane with a real node (containerd, kubelet, kube-proxy).
// test/realnode-start starts a real node of its own: jest.start.config.js runs it after these.
const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }] },
};

/** @type {import('jest').Config} */
export default {
  projects: [
    {
      ...common,
      displayName: 'kwok',
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/realnode/', '<rootDir>/test/realnode-start/'],
      globalSetup: '<rootDir>/test/support/global-setup.js',
      globalTeardown: '<rootDir>/test/support/global-teardown.js',
    },
    {
      ...common,
      displayName: 'real-node',
      roots: ['<rootDir>/test/realnode'],
      testMatch: ['**/*.test.ts'],
      globalSetup: '<rootDir>/test/support/real-node-setup.js',
      globalTeardown: '<rootDir>/test/support/real-node-teardown.js',
      // The real-node plane's kubeconfig, in each test file's own process.env.
      setupFiles: ['<rootDir>/test/support/real-node-env.js'],
    },
  ],
  reporters: ['default', '<rootDir>/test/support/component-logs-reporter.js'],
  testTimeout: 120000,
};
