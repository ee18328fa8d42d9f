// The public SDK: everything a plugin author imports comes from here (`infra-manager/core`).

export * from "./radl/index.ts";
export { errors, ImError, type ImErrorCode } from "./errors.ts";
export { cloudList, credentialsOfType, imCredentials, parseAuth, parseHost, IM_TYPE, type AuthItem, type CloudEntry } from "./auth.ts";
export { VM_STATES, PROVIDER_STATES, aggregateState, isProviderState, type VmState, type ProviderState } from "./vm-state.ts";
export {
  ProviderError,
  type Capability, type CloudProvider, type ConnectionInfo, type ImageInfo, type LaunchRequest, type LaunchResult,
  type Logger, type Observation, type OpContext, type ProviderErrorKind, type ProviderVm, type Quotas,
} from "./provider.ts";
export type {
  AccessFailure, AccessResult, ContextNode, ContextOpContext, Contextualizer, NewCredentials, PlaybookResults, PlaybookTask, TaskResult,
} from "./contextualizer.ts";
export {
  contextItems, cloudInitRecipes, planTasks, tasksByStep, hostName, nodeVariables, infrastructureVariables, recipePlaybook, packageApplications, mainPlaybook, defaultConnectionInfo, sshAddress, proxyHost, SSH_PORT,
  type InventoryVm, type NameDefaults, type SshAddress, type ProxyHost, type PlanVm, type PlannedTask, type TaskKind,
} from "./context-plan.ts";
export { CorruptRecordError, type Store, type StoredRecord } from "./store.ts";
export { PLUGIN_API_VERSION, definePlugin, type Plugin, type PluginKind, type PluginManifest, type PluginRegistrar, type StoreContext } from "./plugin.ts";
export { vmMachine, stateFromFacts, restoreVmSnapshot, VM_EDGES, INITIAL_FACTS, type VmEvent, type VmFacts, type VmSnapshot } from "./machines/vm.machine.ts";
