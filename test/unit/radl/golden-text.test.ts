import assert from "node:assert/strict";
import { test } from "node:test";
import { Feature, Radl, parseAndCheckRadl, parseRadl } from "../../../core/radl/index.ts";
import { GOLDEN_RADL, goldenStep } from "../../fixtures/golden.ts";

// RADL text bodies the reference returned in the golden transcript, reproduced byte for byte.

function goldenText(step: number): string {
  const [ok, text] = goldenStep(step).value as [boolean, string];
  assert.equal(ok, true);
  return text;
}

/** The VM description the reference builds after a Dummy launch (IM behaviour §6.4). */
function dummyVmInfo(requested: Radl, vmNumber: number): Radl {
  const info = requested.clone();
  const system = info.systems[0];
  system.setValue("state", "running");
  system.setValue("provider.type", "Dummy");
  system.setValue("net_interface.0.ip", "10.0.0.1");
  system.setCredentials({ username: "username", password: "password" });
  system.setCredentials({ password: "<RANDOM>" }, true);
  system.setValue("net_interface.0.dns_name", `vnode-${vmNumber}`);
  return info;
}

test("GetInfrastructureRADL (step 9)", () => {
  assert.equal(parseAndCheckRadl(GOLDEN_RADL.RADL).toString(), goldenText(9));
});

test("GetInfrastructureRADL with contextualize () (step 68)", () => {
  assert.equal(parseAndCheckRadl(GOLDEN_RADL.RADL_NOCTXT).toString(), goldenText(68));
});

test("GetInfrastructureRADL of an empty infrastructure (step 91)", () => {
  assert.equal(parseAndCheckRadl("").toString(), goldenText(91));
});

test("GetVMInfo: the networks and the VM's system, without deploys (step 10)", () => {
  const info = dummyVmInfo(parseAndCheckRadl(GOLDEN_RADL.RADL), 0);
  info.deploys = [];
  assert.equal(info.toString(), goldenText(10).replace(/new\.password = '\w+'/, "new.password = '<RANDOM>'"));
});

test("exported VM info and requested RADL (step 49)", () => {
  const exported = JSON.parse((goldenStep(49).value as [boolean, string])[1].replaceAll("<EPOCH>", "0"));
  const requested = parseAndCheckRadl(GOLDEN_RADL.RADL);
  assert.equal(requested.toString(), exported.vm_list[0].requested_radl);
  assert.equal(dummyVmInfo(requested, 0).toString(), exported.vm_list[0].info);
});

test("AlterVM's result text: setValue keeps the operators of a half-open interval (step 23)", () => {
  const info = dummyVmInfo(parseAndCheckRadl(GOLDEN_RADL.RADL), 1);
  const [system] = info.systems;
  const alter = parseRadl(GOLDEN_RADL.RADL_ALTER).systems[0];
  system.setValue("cpu.count", alter.getValue("cpu.count") as number);
  system.addFeature(Feature.number("memory.size", "=", alter.getFeature("memory.size")!.getValue("M") as number, false, "M"), "other", "other");
  const expected = goldenText(23).replace(/new\.password = '\w+'/, "new.password = '<RANDOM>'");
  assert.equal(info.toString(), expected);
});

test("a parse error names the token as the reference does (step 82)", () => {
  const [ok, message] = goldenStep(82).value as [boolean, string];
  assert.equal(ok, false);
  assert.throws(() => parseRadl(GOLDEN_RADL.RADL_INVALID), { message });
});

test("an unknown network gives the reference's check error (step 83)", () => {
  const [, message] = goldenStep(83).value as [boolean, string];
  const text = GOLDEN_RADL.RADL.replace("connection = 'publica'", "connection = 'nonet'");
  assert.throws(() => parseAndCheckRadl(text), { message });
});
