// A whole infrastructure lifecycle driven by the client every IM tool is built on: Python's
// stdlib xmlrpc.client with allow_none=True, as im-client and the reference's own tests use
// it. The script prints one JSON document; the expectations follow the golden transcript
// (test/fixtures/golden.ts, shared/spec/im-golden-transcript.md) and IM behaviour §2-§4.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { GOLDEN_RADL, goldenStep } from "../fixtures/golden.ts";
import { startTestServer, type TestServer } from "../fixtures/server.ts";

const RADL_2VMS = GOLDEN_RADL.RADL.replace("deploy front 1", "deploy front 2");
const RADL_ADD = "network publica\nsystem front\ndeploy front 1";

const SCRIPT = String.raw`
import json, re, sys, time, traceback, xmlrpc.client

url = sys.argv[1]
R = json.loads(sys.argv[2])
s = xmlrpc.client.ServerProxy(url, allow_none=True)

AUTH = [{"type": "InfrastructureManager", "username": "u", "password": "p"}, {"id": "dummy", "type": "Dummy"}]
AUTH_B = [{"type": "InfrastructureManager", "username": "u2", "password": "p2"}, {"id": "dummy", "type": "Dummy"}]

out = {}

def fault(call):
    try:
        return {"value": call()}
    except xmlrpc.client.Fault as error:
        return {"fault": [error.faultCode, error.faultString]}

def wait_state(inf, wanted, timeout=20):
    """Polls GetInfrastructureState until its state is one of wanted; returns every answer seen."""
    seen = []
    deadline = time.time() + timeout
    while True:
        answer = s.GetInfrastructureState(inf, AUTH)
        if not seen or seen[-1] != answer:
            seen.append(answer)
        if answer[0] and answer[1]["state"] in wanted:
            return {"final": answer, "seen": seen, "timed_out": False}
        if time.time() > deadline:
            return {"final": answer, "seen": seen, "timed_out": True}
        time.sleep(0.2)

def vm_info_features(text):
    """The features of the VM's system in GetVMInfo text, as {name: raw value text}."""
    system = re.search(r"system \w+ \(\n(.*)\n\)", text, re.S)
    features = {}
    for line in (system.group(1) if system else "").split(" and\n"):
        m = re.match(r"\s*([\w.]+) (=|>=|<=|contains) (.*?)\s*$", line, re.S)
        if m:
            features[m.group(1)] = m.group(3)
    return features

try:
    out["version"] = s.GetVersion()

    # --- synchronous create (golden #3-#19)
    out["create"] = s.CreateInfrastructure(R["RADL"], AUTH)
    inf = out["create"][1]
    out["list"] = s.GetInfrastructureList(AUTH)
    out["list_filter_match"] = s.GetInfrastructureList(AUTH, "linux.for.ev.er")
    out["list_filter_nomatch"] = s.GetInfrastructureList(AUTH, "no-such-text-here")
    out["info"] = s.GetInfrastructureInfo(inf, AUTH)
    out["state"] = s.GetInfrastructureState(inf, AUTH)
    out["radl"] = s.GetInfrastructureRADL(inf, AUTH)
    vminfo = s.GetVMInfo(inf, "0", AUTH)
    out["vminfo"] = vminfo
    out["vminfo_features"] = vm_info_features(vminfo[1]) if vminfo[0] else None
    out["vminfo_int_id"] = s.GetVMInfo(inf, 0, AUTH)[0]
    out["prop_state"] = s.GetVMProperty(inf, "0", "state", AUTH)
    out["prop_ip"] = s.GetVMProperty(inf, "0", "net_interface.0.ip", AUTH)
    out["prop_memory"] = s.GetVMProperty(inf, "0", "memory.size", AUTH)
    out["prop_cpu"] = s.GetVMProperty(inf, "0", "cpu.count", AUTH)
    out["prop_provider"] = s.GetVMProperty(inf, "0", "provider.type", AUTH)
    out["prop_missing"] = fault(lambda: s.GetVMProperty(inf, "0", "no.such.property", AUTH))
    out["vm_contmsg"] = s.GetVMContMsg(inf, "0", AUTH)
    out["contmsg"] = s.GetInfrastructureContMsg(inf, AUTH)
    out["contmsg_header"] = s.GetInfrastructureContMsg(inf, AUTH, True)
    out["vminfo_unknown"] = s.GetVMInfo(inf, "99", AUTH)

    # --- AddResource (golden #20-#22)
    out["add"] = s.AddResource(inf, R["RADL_ADD"], AUTH)
    out["add_noctxt"] = s.AddResource(inf, R["RADL_ADD"], AUTH, False)
    out["info_after_adds"] = s.GetInfrastructureInfo(inf, AUTH)

    # --- AlterVM (golden #23-#25)
    out["alter"] = s.AlterVM(inf, "1", R["RADL_ALTER"], AUTH)
    out["prop_cpu_altered"] = s.GetVMProperty(inf, "1", "cpu.count", AUTH)
    out["prop_memory_altered"] = s.GetVMProperty(inf, "1", "memory.size", AUTH)
    out["prop_cpu_vm0"] = s.GetVMProperty(inf, "0", "cpu.count", AUTH)
    out["alter_unknown"] = s.AlterVM(inf, "99", R["RADL_ALTER"], AUTH)

    # --- VM and infrastructure operations (golden #26-#33)
    out["stopvm"] = s.StopVM(inf, "1", AUTH)
    out["state_after_stopvm"] = s.GetInfrastructureState(inf, AUTH)
    out["stopvm_unknown"] = s.StopVM(inf, "99", AUTH)
    out["startvm"] = s.StartVM(inf, "1", AUTH)
    out["state_after_startvm"] = s.GetInfrastructureState(inf, AUTH)
    out["rebootvm"] = s.RebootVM(inf, 1, AUTH)
    out["stopinf"] = s.StopInfrastructure(inf, AUTH)
    out["state_after_stopinf"] = s.GetInfrastructureState(inf, AUTH)
    out["startinf"] = s.StartInfrastructure(inf, AUTH)
    out["state_after_startinf"] = s.GetInfrastructureState(inf, AUTH)

    # --- Reconfigure (golden #34-#35)
    out["reconfigure"] = s.Reconfigure(inf, "", AUTH)
    out["reconfigure_vmlist"] = s.Reconfigure(inf, "", AUTH, [0])

    # --- RemoveResource (golden #37-#40)
    out["remove_str"] = s.RemoveResource(inf, "1", AUTH)
    out["remove_list"] = s.RemoveResource(inf, ["2"], AUTH, False)
    out["remove_unknown"] = s.RemoveResource(inf, "7", AUTH)
    out["remove_removed"] = s.RemoveResource(inf, "1", AUTH)
    out["info_after_removes"] = s.GetInfrastructureInfo(inf, AUTH)
    out["vminfo_removed"] = s.GetVMInfo(inf, "1", AUTH)

    # --- owners (golden #41-#48)
    out["owners"] = s.GetInfrastructureOwners(inf, AUTH)
    out["state_as_u2_before"] = s.GetInfrastructureState(inf, AUTH_B)
    out["change_auth"] = s.ChangeInfrastructureAuth(inf, [AUTH_B[0]], False, AUTH)
    out["owners_after_change"] = s.GetInfrastructureOwners(inf, AUTH)
    out["state_as_u2"] = s.GetInfrastructureState(inf, AUTH_B)
    out["list_as_u2"] = s.GetInfrastructureList(AUTH_B)
    out["change_auth_overwrite"] = s.ChangeInfrastructureAuth(inf, [AUTH[0]], True, AUTH)
    out["owners_after_overwrite"] = s.GetInfrastructureOwners(inf, AUTH)
    out["state_as_u2_after"] = s.GetInfrastructureState(inf, AUTH_B)

    # --- export and import (golden #49-#57)
    exported = s.ExportInfrastructure(inf, False, AUTH)
    out["export"] = [exported[0], json.loads(exported[1]) if exported[0] else exported[1]]
    out["import_existing"] = s.ImportInfrastructure(exported[1], AUTH)
    exported_del = s.ExportInfrastructure(inf, True, AUTH)
    out["export_delete"] = [exported_del[0], json.loads(exported_del[1]) if exported_del[0] else exported_del[1]]
    out["list_after_export_delete"] = s.GetInfrastructureList(AUTH)
    out["state_after_export_delete"] = s.GetInfrastructureState(inf, AUTH)
    out["import"] = s.ImportInfrastructure(exported_del[1], AUTH_B)
    out["state_after_import"] = s.GetInfrastructureState(inf, AUTH_B)
    out["owners_after_import"] = s.GetInfrastructureOwners(inf, AUTH_B)
    out["state_after_import_as_u"] = s.GetInfrastructureState(inf, AUTH)
    out["list_after_import"] = s.GetInfrastructureList(AUTH_B)
    out["import_invalid"] = s.ImportInfrastructure("{not json", AUTH)
    # Give the infrastructure back to u for the rest of the run.
    out["change_back"] = s.ChangeInfrastructureAuth(inf, [AUTH[0]], True, AUTH_B)

    # --- contextualize () reaches configured (golden #64-#68)
    out["create_noctxt"] = s.CreateInfrastructure(R["RADL_NOCTXT"], AUTH)
    inf2 = out["create_noctxt"][1]
    out["noctxt_wait"] = wait_state(inf2, ["configured", "failed", "unconfigured", "unknown"])
    out["noctxt_contmsg"] = s.GetInfrastructureContMsg(inf2, AUTH)
    out["noctxt_vm_contmsg"] = s.GetVMContMsg(inf2, "0", AUTH)
    out["noctxt_radl"] = s.GetInfrastructureRADL(inf2, AUTH)
    out["noctxt_prop_state"] = s.GetVMProperty(inf2, "0", "state", AUTH)

    # --- asynchronous create of 2 VMs (golden #69-#73)
    out["create_async"] = s.CreateInfrastructure(R["RADL_2VMS"], AUTH, True)
    inf3 = out["create_async"][1]
    out["async_state_now"] = s.GetInfrastructureState(inf3, AUTH)
    out["async_wait"] = wait_state(inf3, ["running", "configured", "failed", "unconfigured", "unknown"])
    out["async_info"] = s.GetInfrastructureInfo(inf3, AUTH)
    out["list_three"] = s.GetInfrastructureList(AUTH)

    # --- destroy (golden #98-#104)
    out["destroy"] = s.DestroyInfrastructure(inf, AUTH)
    out["destroy_again"] = s.DestroyInfrastructure(inf, AUTH)
    out["state_destroyed"] = s.GetInfrastructureState(inf, AUTH)
    out["destroy_force"] = s.DestroyInfrastructure(inf2, AUTH, True)
    out["destroy_async"] = s.DestroyInfrastructure(inf3, AUTH, False, True)
    deadline = time.time() + 10
    remaining = s.GetInfrastructureList(AUTH)
    while remaining != [True, []] and time.time() < deadline:
        time.sleep(0.1)
        remaining = s.GetInfrastructureList(AUTH)
    out["list_after_destroy"] = remaining
except Exception:
    out["error"] = traceback.format_exc()

print(json.dumps(out))
`;

type Pair = [boolean, unknown];
type Out = Record<string, unknown> & { error?: string };

let server: TestServer;
let out: Out;

before(async () => {
  // A long SSH wait keeps contextualization in progress for the whole run, as it was when the
  // golden transcript was captured: VMs show `running`, not `unconfigured`.
  server = await startTestServer({ im: { WAIT_SSH_ACCCESS_TIMEOUT: 120 } });
  const radls = { ...GOLDEN_RADL, RADL_2VMS, RADL_ADD };
  const { stdout, stderr } = await promisify(execFile)("python3", ["-c", SCRIPT, server.url, JSON.stringify(radls)], { timeout: 50_000 });
  try {
    out = JSON.parse(stdout) as Out;
  } catch {
    throw new Error(`the Python script printed no JSON:\n${stdout}\n${stderr}`);
  }
});

after(async () => {
  await server?.close();
});

/** Asserts the script got this far without an unexpected exception. */
function ran(...keys: string[]) {
  for (const key of keys) {
    assert.ok(key in out, `the script stopped before '${key}':\n${out.error ?? "(no error recorded)"}`);
  }
}

const ok = (value: unknown): Pair => [true, value];
const infId = () => (out.create as Pair)[1] as string;

test("the script ran to the end without an unexpected exception", () => {
  assert.equal(out.error, undefined, out.error);
});

test("GetVersion and a synchronous CreateInfrastructure (golden #1-#8)", () => {
  ran("version", "create", "state");
  assert.deepEqual(out.version, goldenStep(1).value);
  const [success, id] = out.create as Pair;
  assert.equal(success, true, String(id));
  assert.match(id as string, /^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/, "a uuid1");
  assert.deepEqual(out.list, ok([id]));
  assert.deepEqual(out.list_filter_match, ok([id]));
  assert.deepEqual(out.list_filter_nomatch, ok([]));
  assert.deepEqual(out.info, goldenStep(7).value);
  assert.deepEqual(out.state, goldenStep(8).value);
});

test("GetInfrastructureRADL returns the stored RADL (golden #9)", () => {
  ran("radl");
  assert.deepEqual(out.radl, goldenStep(9).value);
});

test("GetVMInfo is RADL text whose system is running on Dummy (golden #10)", () => {
  ran("vminfo", "vminfo_features");
  const [success, text] = out.vminfo as Pair;
  assert.equal(success, true, String(text));
  assert.match(text as string, /^network publica \( outbound = 'yes' \)\nsystem front \(\n/);
  assert.match(text as string, /\bstate = 'running'/);
  const features = out.vminfo_features as Record<string, string>;
  assert.equal(features["state"], "'running'");
  assert.equal(features["provider.type"], "'Dummy'");
  assert.equal(features["net_interface.0.ip"], "'10.0.0.1'");
  assert.equal(features["net_interface.0.dns_name"], "'vnode-0'");
  assert.equal(features["disk.0.image.url"], "'mock0://linux.for.ev.er/image'");
  assert.equal(features["cpu.count"], "1");
  assert.ok("disk.0.os.credentials.new.password" in features, "the VM info carries the new password (§2.8)");
  assert.doesNotMatch(text as string, /^deploy /m, "only the networks and the VM's system");
  assert.equal(out.vminfo_int_id, true, "a VM id may be an int (§1.3)");
  assert.deepEqual(out.vminfo_unknown, goldenStep(79).value);
});

test("GetVMProperty returns raw values, memory in bytes, and a fault for a missing property (golden #11-#16)", () => {
  ran("prop_state", "prop_missing");
  assert.deepEqual(out.prop_state, goldenStep(11).value);
  assert.deepEqual(out.prop_ip, goldenStep(12).value);
  assert.deepEqual(out.prop_memory, goldenStep(13).value);
  assert.deepEqual(out.prop_cpu, goldenStep(14).value);
  assert.deepEqual(out.prop_provider, goldenStep(15).value);
  const missing = goldenStep(16).value as { faultCode: number; faultString: string };
  assert.deepEqual(out.prop_missing, { fault: [missing.faultCode, missing.faultString] });
});

test("contextualization messages while the master's SSH wait runs (golden #17-#19)", () => {
  ran("contmsg", "contmsg_header");
  assert.deepEqual(out.vm_contmsg, goldenStep(17).value);
  const stamp = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}: /;
  for (const key of ["contmsg", "contmsg_header"]) {
    const [success, text] = out[key] as Pair;
    assert.equal(success, true);
    const lines = (text as string).split("\n");
    assert.equal(lines.pop(), "", "ends with a newline");
    for (const line of lines) assert.match(line, stamp);
    const messages = lines.map((line) => line.replace(stamp, ""));
    // The log grows as the flow goes on: it is a prefix of the golden one.
    assert.deepEqual(messages, ["Select master VM", "Wait master VM to boot", "Wait master VM to have the SSH active."].slice(0, messages.length), key);
  }
});

test("AddResource with references, with and without context (golden #20-#22)", () => {
  ran("add", "add_noctxt", "info_after_adds");
  assert.deepEqual(out.add, goldenStep(20).value);
  assert.deepEqual(out.add_noctxt, goldenStep(21).value);
  assert.deepEqual(out.info_after_adds, goldenStep(22).value);
});

test("AlterVM changes cpu and memory, visible in GetVMProperty (golden #23-#25)", () => {
  ran("alter", "prop_memory_altered");
  const [success, text] = out.alter as Pair;
  assert.equal(success, true, String(text));
  assert.match(text as string, /system front \(/);
  assert.match(text as string, /\bcpu\.count >= 2\b/);
  assert.match(text as string, /\bmemory\.size = 1024M\b/);
  assert.match(text as string, /\bstate = 'running'/);
  assert.deepEqual(out.prop_cpu_altered, goldenStep(24).value);
  assert.deepEqual(out.prop_memory_altered, goldenStep(25).value);
  assert.deepEqual(out.prop_cpu_vm0, ok(1), "only VM 1 changed");
  assert.deepEqual(out.alter_unknown, goldenStep(81).value);
});

test("StopVM, StartVM, RebootVM (golden #26-#29)", () => {
  ran("stopvm", "rebootvm");
  assert.deepEqual(out.stopvm, goldenStep(26).value);
  assert.deepEqual(out.state_after_stopvm, goldenStep(27).value);
  assert.deepEqual(out.stopvm_unknown, goldenStep(80).value);
  assert.deepEqual(out.startvm, goldenStep(28).value);
  assert.deepEqual(out.state_after_startvm, ok({ state: "running", vm_states: { 0: "running", 1: "running", 2: "running" } }));
  assert.deepEqual(out.rebootvm, goldenStep(29).value);
});

test("StopInfrastructure gives stopped, StartInfrastructure running again (golden #30-#33)", () => {
  ran("stopinf", "state_after_startinf");
  assert.deepEqual(out.stopinf, goldenStep(30).value);
  assert.deepEqual(out.state_after_stopinf, goldenStep(31).value);
  assert.deepEqual(out.startinf, goldenStep(32).value);
  assert.deepEqual(out.state_after_startinf, goldenStep(33).value);
});

test("Reconfigure (golden #34-#35)", () => {
  ran("reconfigure", "reconfigure_vmlist");
  assert.deepEqual(out.reconfigure, goldenStep(34).value);
  assert.deepEqual(out.reconfigure_vmlist, goldenStep(35).value);
});

test("RemoveResource by string id and by list (golden #37-#40)", () => {
  ran("remove_str", "info_after_removes");
  assert.deepEqual(out.remove_str, goldenStep(37).value);
  assert.deepEqual(out.remove_list, goldenStep(38).value);
  assert.deepEqual(out.remove_unknown, goldenStep(39).value);
  assert.deepEqual(out.remove_removed, [false, "Deleted VM."], "§2.0 step 5");
  assert.deepEqual(out.info_after_removes, goldenStep(40).value);
  assert.deepEqual(out.vminfo_removed, [false, "Deleted VM."]);
});

test("ChangeInfrastructureAuth and GetInfrastructureOwners (golden #41-#48)", () => {
  ran("owners", "owners_after_overwrite", "state_as_u2_after");
  assert.deepEqual(out.owners, goldenStep(41).value);
  assert.deepEqual(out.state_as_u2_before, [false, "Access to this infrastructure not granted."]);
  assert.deepEqual(out.change_auth, goldenStep(43).value);
  assert.deepEqual(out.owners_after_change, goldenStep(44).value);
  assert.deepEqual(out.state_as_u2, goldenStep(45).value);
  assert.deepEqual(out.list_as_u2, ok([infId()]));
  assert.deepEqual(out.change_auth_overwrite, goldenStep(47).value);
  assert.deepEqual(out.owners_after_overwrite, goldenStep(48).value);
  assert.deepEqual(out.state_as_u2_after, [false, "Access to this infrastructure not granted."], "u2 is no longer an owner");
});

test("ExportInfrastructure with and without delete, then ImportInfrastructure (golden #49-#57)", () => {
  ran("export", "import", "import_invalid");
  const [success, document] = out.export as [boolean, Record<string, unknown>];
  assert.equal(success, true, String(document));
  assert.equal(document.id, infId());
  assert.ok(Array.isArray(document.vm_list) && document.vm_list.length === 3, "removed VMs are exported too");
  assert.equal(typeof document.radl, "string");
  assert.deepEqual(out.import_existing, goldenStep(50).value);
  assert.deepEqual((out.export_delete as Pair)[0], true);
  assert.equal(((out.export_delete as Pair)[1] as Record<string, unknown>).id, infId());
  assert.deepEqual(out.list_after_export_delete, goldenStep(52).value);
  assert.deepEqual(out.state_after_export_delete, goldenStep(53).value);
  assert.deepEqual(out.import, ok(infId()), "the exported id is kept (§2.22)");
  // Contextualization was still running at export time: the VM comes back unconfigured.
  assert.deepEqual(out.state_after_import, goldenStep(55).value);
  assert.deepEqual(out.owners_after_import, ok(["u2"]), "the importer becomes the sole owner");
  assert.deepEqual(out.state_after_import_as_u, [false, "Access to this infrastructure not granted."]);
  assert.deepEqual(out.list_after_import, ok([infId()]));
  // The parser's own text follows the prefix; Python's json words it differently from JSON.parse
  // (golden #57: "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)").
  const [importOk, importMessage] = out.import_invalid as Pair;
  assert.equal(importOk, false);
  assert.match(importMessage as string, /^Error importing the infrastructure, incorrect data: \S/);
  assert.deepEqual(out.change_back, ok(""));
});

test("contextualize () reaches configured (golden #64-#68)", () => {
  ran("noctxt_wait", "noctxt_radl");
  const [success] = out.create_noctxt as Pair;
  assert.equal(success, true, String((out.create_noctxt as Pair)[1]));
  const wait = out.noctxt_wait as { final: Pair; seen: Pair[]; timed_out: boolean };
  assert.deepEqual(wait.final, goldenStep(65).value, JSON.stringify(wait.seen));
  for (const [, answer] of wait.seen) {
    assert.ok(["running", "configured"].includes((answer as { state: string }).state), JSON.stringify(wait.seen));
  }
  assert.deepEqual(out.noctxt_contmsg, goldenStep(66).value);
  assert.deepEqual(out.noctxt_vm_contmsg, goldenStep(67).value);
  assert.deepEqual(out.noctxt_radl, goldenStep(68).value);
  assert.deepEqual(out.noctxt_prop_state, ok("configured"));
});

test("an asynchronous create of 2 VMs goes from pending to running (golden #69-#73)", () => {
  ran("create_async", "async_wait", "list_three");
  const [success, id] = out.create_async as Pair;
  assert.equal(success, true, String(id));
  const [nowOk, now] = out.async_state_now as [boolean, { state: string; vm_states: Record<string, string> }];
  assert.equal(nowOk, true);
  // Right after the call the launch may or may not have finished.
  if (now.state === "pending") assert.deepEqual(now, { state: "pending", vm_states: {} });
  else assert.deepEqual(now, (goldenStep(71).value as Pair)[1]);
  const wait = out.async_wait as { final: Pair; seen: Pair[] };
  assert.deepEqual(wait.final, goldenStep(71).value, JSON.stringify(wait.seen));
  assert.deepEqual(out.async_info, goldenStep(72).value);
  const [listOk, list] = out.list_three as [boolean, string[]];
  assert.equal(listOk, true);
  assert.deepEqual([...list].sort(), [infId(), (out.create_noctxt as Pair)[1], id].sort());
});

test("DestroyInfrastructure, plain, again, forced and asynchronous (golden #98-#104)", () => {
  ran("destroy", "list_after_destroy");
  assert.deepEqual(out.destroy, goldenStep(98).value);
  assert.deepEqual(out.destroy_again, goldenStep(99).value);
  assert.deepEqual(out.state_destroyed, goldenStep(100).value);
  assert.deepEqual(out.destroy_force, goldenStep(101).value);
  assert.deepEqual(out.destroy_async, goldenStep(102).value);
  assert.deepEqual(out.list_after_destroy, goldenStep(104).value);
});
