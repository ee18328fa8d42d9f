import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { VM_STATES, aggregateState, type VmState } from "../../../core/vm-state.ts";

// The infrastructure state from its VMs' states (IM behaviour §4.3 and checklist T17). The walk is
// order dependent on purpose; these cases pin the quirks a priority table would get wrong.

type Case = [vms: VmState[], configured: boolean | null, expected: VmState];

const check = (cases: Case[]) => {
  for (const [vms, configured, expected] of cases) {
    assert.equal(aggregateState(vms, configured), expected, `[${vms.join(", ")}] with configured=${configured}`);
  }
};

test("T17: the reference's aggregation examples", () => {
  check([
    [["running", "running", "running"], null, "running"],
    [["failed", "running", "unknown"], null, "failed"],
    [["pending", "running", "configured"], null, "pending"],
    [["pending", "configured", "unconfigured"], null, "pending"],
    [["running", "configured", "unconfigured"], null, "running"],
    [["running", "configured", "stopped"], null, "running"],
    [[], null, "pending"],
  ]);
});

test("§4.3: stopped, off, configured and unconfigured depend on their order", () => {
  check([
    [["stopped", "configured"], true, "stopped"],
    [["configured", "stopped"], true, "configured"],
    [["configured", "unconfigured"], true, "unconfigured"],
    [["unconfigured", "configured"], true, "unconfigured"],
    [["stopped", "unconfigured"], true, "stopped"],
    [["unconfigured", "stopped"], true, "unconfigured"],
    [["off", "configured"], true, "off"],
    [["configured", "off"], true, "configured"],
    [["off", "stopped"], true, "off"],
    [["stopped", "off"], true, "stopped"],
    [["off", "unconfigured"], true, "off"],
  ]);
});

test("§4.3: the first failed or unknown VM wins and stops the walk", () => {
  check([
    [["failed", "running", "unknown"], null, "failed"],
    [["unknown", "failed"], null, "unknown"],
    [["running", "unknown", "failed"], true, "unknown"],
    [["pending", "failed"], true, "failed"],
    [["configured", "stopped", "failed"], true, "failed"],
    [["failed"], true, "failed"],
    [["unknown"], false, "unknown"],
  ]);
});

test("§4.3: pending beats running, configured and unconfigured whatever their order", () => {
  check([
    [["pending", "configured", "unconfigured"], null, "pending"],
    [["configured", "unconfigured", "pending"], null, "pending"],
    [["running", "pending", "running"], null, "pending"],
    [["unconfigured", "pending", "configured"], true, "pending"],
    [["stopped", "pending"], true, "pending"],
    [["off", "pending", "running"], true, "pending"],
  ]);
});

test("§4.3: running beats configured, unconfigured, stopped and off after it", () => {
  check([
    [["configured", "running"], true, "running"],
    [["stopped", "running"], true, "running"],
    [["running", "stopped"], true, "running"],
    [["unconfigured", "running", "configured"], true, "running"],
  ]);
});

test("§4.3: deleting VMs are ignored", () => {
  check([
    [["deleting", "configured"], true, "configured"],
    [["configured", "deleting", "stopped"], true, "configured"],
    [["deleting", "pending"], null, "pending"],
    // Only deleting VMs: the walk finds nothing, but there are VMs, so not the empty case.
    [["deleting"], null, "unknown"],
    [["deleting", "deleting"], false, "failed"],
  ]);
});

test("§4.3: with no state from the walk, the infrastructure's contextualization flag decides", () => {
  check([
    // An empty-RADL create: contextualization failed with no VMs.
    [[], false, "failed"],
    // An asynchronous create still launching.
    [[], null, "pending"],
    // VMs all removed after a finished contextualization.
    [[], true, "unknown"],
  ]);
});

test("§4.3: an infrastructure being destroyed is deleting, whatever its VMs", () => {
  assert.equal(aggregateState(["configured"], true, true), "deleting");
  assert.equal(aggregateState(["failed", "running"], null, true), "deleting");
  assert.equal(aggregateState([], false, true), "deleting");
  assert.equal(aggregateState([], null, true), "deleting");
  assert.equal(aggregateState(["configured"], true, false), "configured");
});

/** The pseudo-code of §4.3, transcribed literally. */
function referenceAggregate(vms: readonly VmState[], configured: boolean | null, destroying: boolean): VmState {
  let s: VmState | null = null;
  for (const vm of vms) {
    if (vm === "failed") {
      s = "failed";
      break;
    }
    if (vm === "unknown") {
      s = "unknown";
      break;
    }
    if (vm === "pending") s = "pending";
    else if (vm === "running") {
      if (s !== "pending") s = "running";
    } else if (vm === "stopped") {
      if (s === null) s = "stopped";
    } else if (vm === "off") {
      if (s === null) s = "off";
    } else if (vm === "configured") {
      if (s === null) s = "configured";
    } else if (vm === "unconfigured") {
      if (s === null || s === "configured") s = "unconfigured";
    }
    // deleting: ignored
  }
  if (s === null) {
    if (configured === false) s = "failed";
    else if (vms.length === 0 && configured === null) s = "pending";
    else s = "unknown";
  }
  if (destroying) s = "deleting";
  return s;
}

test("property: aggregateState equals the §4.3 pseudo-code for any VM list", () => {
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...VM_STATES), { maxLength: 12 }),
      fc.constantFrom(true, false, null),
      fc.boolean(),
      (vms, configured, destroying) => {
        assert.equal(aggregateState(vms, configured, destroying), referenceAggregate(vms, configured, destroying));
      },
    ),
    { numRuns: 5000 },
  );
});

test("property: the default for `destroying` is false", () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...VM_STATES), { maxLength: 8 }), fc.constantFrom(true, false, null), (vms, configured) => {
      assert.equal(aggregateState(vms, configured), referenceAggregate(vms, configured, false));
    }),
  );
});

test("property: the result is always one of IM's nine state strings", () => {
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...VM_STATES)), fc.constantFrom(true, false, null), fc.boolean(), (vms, configured, destroying) => {
      assert.ok((VM_STATES as readonly string[]).includes(aggregateState(vms, configured, destroying)));
    }),
  );
});
