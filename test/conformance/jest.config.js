/**
 * The conformance suite (the local durable host against the real Durable extension over Azurite).
 * Not part of `npm test`: it needs the .NET SDK and takes minutes; `npm run test:conformance`.
 * @type {import('jest').Config}
 */
const base = require('../../jest.config.js');

module.exports = {
  ...base,
  rootDir: '../..',
  roots: ['<rootDir>/test/conformance'],
  testMatch: ['**/*.conformance.ts'],
  testTimeout: 600000,
};
