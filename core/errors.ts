// IM's errors. Every failure a client can see is an ImError whose message is the reference's
// exact text (IM behaviour §2); the runtime turns it into `[false, message]` on the wire.

export type ImErrorCode =
  | "AUTH_ID_FORMAT" | "BOOT_MODE" | "NO_IM_CREDENTIALS" | "NO_IM_USERNAME" | "INVALID_IM_USERNAME"
  | "INVALID_CREDENTIALS" | "NO_IM_TOKEN" | "BAD_AUTH_TYPE"
  | "INFRASTRUCTURE_NOT_FOUND" | "ACCESS_DENIED" | "DELETED_INFRASTRUCTURE" | "INVALID_VM_ID" | "DELETED_VM"
  | "INVALID_STATE" | "INFRASTRUCTURE_DELETED" | "INVALID_RADL"
  | "NO_CLOUD_AUTH" | "NO_CLOUD_PROVIDER" | "CLOUD_CONFLICT" | "CLOUD_NOT_FOUND" | "PROVIDER_NOT_SUPPORTED" | "INVALID_PROVIDER"
  | "OPERATION_FAILED" | "BAD_PARAMETER" | "IMPORT_FAILED" | "EXISTING_ID" | "INTERNAL";

export class ImError extends Error {
  constructor(
    readonly code: ImErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "ImError";
  }
}

const error = (code: ImErrorCode, message: string) => new ImError(code, message);

/** The catalogue: one constructor per message, so messages are written once. */
export const errors = {
  authIdFormat: (id: string) => error("AUTH_ID_FORMAT", `Incorrect value in auth item id: ${id}`),
  disabled: () => error("BOOT_MODE", "Function currently disabled."),
  noImCredentials: () => error("NO_IM_CREDENTIALS", "No credentials provided for the InfrastructureManager."),
  noImUsername: () => error("NO_IM_USERNAME", "No username nor token for the InfrastructureManager."),
  invalidImUsername: () => error("INVALID_IM_USERNAME", "Invalid username used for the InfrastructureManager."),
  invalidCredentials: () => error("INVALID_CREDENTIALS", "Invalid InfrastructureManager credentials"),
  noImToken: () => error("NO_IM_TOKEN", "No token provided for the InfrastructureManager."),
  oidcDecode: (reason: string) => error("INVALID_CREDENTIALS", `Error trying to decode OIDC auth token: ${reason}`),
  /** A token the checks of IM behaviour §3.3 refuse; `reason` ends with its own full stop. */
  oidcRejected: (reason: string) => error("INVALID_CREDENTIALS", `Invalid InfrastructureManager credentials. ${reason}`),
  oidcValidation: (message: string) => error("INVALID_CREDENTIALS", `Error trying to validate OIDC auth token: ${message}`),
  /** What Python says when `auth` is not a list of structs. */
  badAuthType: () => error("BAD_AUTH_TYPE", "string indices must be integers, not 'str'"),
  infrastructureNotFound: () => error("INFRASTRUCTURE_NOT_FOUND", "Invalid infrastructure ID or access not granted."),
  accessDenied: () => error("ACCESS_DENIED", "Access to this infrastructure not granted."),
  deletedInfrastructure: () => error("DELETED_INFRASTRUCTURE", "Deleted infrastructure."),
  invalidVmId: () => error("INVALID_VM_ID", "Invalid VM ID"),
  deletedVm: () => error("DELETED_VM", "Deleted VM."),
  invalidState: () => error("INVALID_STATE", "Invalid State to perform this operation."),
  infrastructureDeleted: () => error("INFRASTRUCTURE_DELETED", "Infrastructure deleted. Do not add resources."),
  invalidRadl: (message: string) => error("INVALID_RADL", message),
  noCloudAuth: (cloudId: string) => error("NO_CLOUD_AUTH", `No auth data for cloud with ID: ${cloudId}`),
  noCloudProvider: () => error("NO_CLOUD_PROVIDER", "No cloud provider available"),
  cloudConflict: (group: string) =>
    error("CLOUD_CONFLICT", `Two deployments that have to be launched in the same cloud provider are asked to be deployed in different cloud providers: ${group}`),
  cloudNotFound: (cloudId: string) => error("CLOUD_NOT_FOUND", `Cloud ID ${cloudId} not found.`),
  providerNotSupported: (type: string, reason: string) => error("PROVIDER_NOT_SUPPORTED", `Cloud provider not supported: ${type} (error: ${reason})`),
  invalidProvider: () => error("INVALID_PROVIDER", "Not valid cloud provider."),
  /** An operation's own failure, e.g. `Error stopping the VM: <msg>`. */
  operationFailed: (message: string) => error("OPERATION_FAILED", message),
  badParameter: (message: string) => error("BAD_PARAMETER", message),
  importFailed: (detail: string) => error("IMPORT_FAILED", `Error importing the infrastructure, incorrect data: ${detail}`),
  existingId: () => error("EXISTING_ID", "Trying to add an existing infrastructure ID."),
};
