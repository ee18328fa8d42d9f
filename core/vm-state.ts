// IM's VM states (IM behaviour §4.1) and the infrastructure aggregate (§4.3).

export const VM_STATES = ["pending", "running", "configured", "unconfigured", "stopped", "off", "failed", "unknown", "deleting"] as const;
export type VmState = (typeof VM_STATES)[number];

/** What a provider can report for a VM; IM derives configured/unconfigured/deleting itself. */
export const PROVIDER_STATES = ["pending", "running", "stopped", "off", "failed", "unknown"] as const;
export type ProviderState = (typeof PROVIDER_STATES)[number];

export function isProviderState(value: unknown): value is ProviderState {
  return (PROVIDER_STATES as readonly unknown[]).includes(value);
}

/**
 * The infrastructure state from its VMs' states in id order, exactly as the reference walks
 * them: the first failed or unknown VM decides, pending beats running, and stopped, off,
 * configured and unconfigured depend on their order.
 *
 * `configured` is the infrastructure's contextualization flag (null while it runs or before).
 */
export function aggregateState(vmStates: readonly VmState[], configured: boolean | null, destroying = false): VmState {
  let state: VmState | null = null;
  walk: for (const vm of vmStates) {
    switch (vm) {
      case "failed":
      case "unknown":
        state = vm;
        break walk;
      case "pending": state = "pending"; break;
      case "running": if (state !== "pending") state = "running"; break;
      case "stopped":
      case "off":
      case "configured":
        state ??= vm;
        break;
      case "unconfigured": if (state === null || state === "configured") state = "unconfigured"; break;
      case "deleting": break;
    }
  }
  if (state === null) {
    if (configured === false) state = "failed";
    else if (vmStates.length === 0 && configured === null) state = "pending";
    else state = "unknown";
  }
  return destroying ? "deleting" : state;
}
