// The conformance kits plugin authors run against their plugins (`infra-manager/testing`). Each
// kit returns a ConformanceSuite of named checks: registerConformance() hands them to node:test,
// runConformance() runs them under any runner (or none) and returns their results.

export {
  CheckSkipped, ConformanceFailure, notApplicable, registerConformance, runConformance,
  type CheckResult, type ConformanceCheck, type ConformanceSuite, type Hook, type NotApplicable,
} from "./checks.ts";
export {
  LIVE_AUTH_ENV, LIVE_TAG_KEY, UNKNOWN_NATIVE_STATE, providerConformance,
  type CloudFault, type CloudFaults, type LiveFixture, type ProviderFixture, type TestCloud,
} from "./provider-kit.ts";
export { fileCorruptions, storeConformance, type CorruptRecord, type RecordFile, type StoreFixture } from "./store-kit.ts";
export { contextualizerConformance, type ContextualizerFixture, type TestHosts } from "./contextualizer-kit.ts";
