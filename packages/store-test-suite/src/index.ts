export { credentialStoreNotApplicable, credentialStoreTestCases } from "./cases.js";
export { fakeAccessKeyPair, secretPiece } from "./fake-access-key-pair.js";
export { findSecretLeaks } from "./find-secret-leaks.js";
export { credentialStoreTestSuite } from "./suite.js";
export type {
  CreateCredentialStoreFixture,
  CredentialStoreFixture,
  CredentialStoreFixtureRequest,
  CredentialStoreInChildProcess,
  CredentialStoreTestCase,
  CredentialStoreTestContext,
  CredentialStoreTestGroup,
  CredentialStoreTestRegistrar,
  CredentialStoreTestSuiteOptions,
} from "./types.js";
