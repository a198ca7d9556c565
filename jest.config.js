/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Type-checking is `npm run typecheck`'s job; jest only transpiles, which keeps runs fast.
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  // The local durable host provides `@azure/functions-core` the way the real worker does.
  moduleNameMapper: {
    '^@azure/functions-core$': '<rootDir>/local/durable-host/coreModuleShim.ts',
  },
  testTimeout: 60000,
};
