import { ImError, RadlError } from "../../core/index.ts";
import type { RuntimeLogger } from "../logger.ts";
import { FloatValue, type ImService } from "../service/im-service.ts";
import { XmlRpcDouble, type RpcMethod } from "./server.ts";

// The one table from IM's XML-RPC methods to service calls (IM behaviour §2). Parameter names
// are the reference's Python names: they appear in the faults for a wrong number of arguments.

type Call = (service: ImService, params: unknown[]) => unknown;

const METHODS: [name: string, params: string[], required: number, call: Call][] = [
  ["GetVersion", [], 0, (s) => s.getVersion()],
  ["GetInfrastructureList", ["auth_data", "flt"], 1, (s, [auth, filter]) => s.getInfrastructureList(auth, filter)],
  ["CreateInfrastructure", ["radl_data", "auth_data", "async_call"], 2, (s, [radl, auth, asyncCall]) => s.createInfrastructure(radl, auth, asyncCall)],
  ["GetInfrastructureInfo", ["inf_id", "auth_data"], 2, (s, [id, auth]) => s.getInfrastructureInfo(id, auth)],
  ["GetInfrastructureContMsg", ["inf_id", "auth_data", "headeronly"], 2, (s, [id, auth, headeronly]) => s.getInfrastructureContMsg(id, auth, headeronly)],
  ["GetInfrastructureState", ["inf_id", "auth_data"], 2, (s, [id, auth]) => s.getInfrastructureState(id, auth)],
  ["GetInfrastructureRADL", ["inf_id", "auth_data"], 2, (s, [id, auth]) => s.getInfrastructureRadl(id, auth)],
  ["GetVMInfo", ["inf_id", "vm_id", "auth_data"], 3, (s, [id, vm, auth]) => s.getVmInfo(id, vm, auth)],
  ["GetVMProperty", ["inf_id", "vm_id", "property_name", "auth_data"], 4, (s, [id, vm, property, auth]) => s.getVmProperty(id, vm, property, auth)],
  ["GetVMContMsg", ["inf_id", "vm_id", "auth_data"], 3, (s, [id, vm, auth]) => s.getVmContMsg(id, vm, auth)],
  ["AlterVM", ["inf_id", "vm_id", "radl", "auth_data"], 4, (s, [id, vm, radl, auth]) => s.alterVm(id, vm, radl, auth)],
  ["DestroyInfrastructure", ["inf_id", "auth_data", "force", "async_call"], 2, (s, [id, auth, force, asyncCall]) => s.destroyInfrastructure(id, auth, force, asyncCall)],
  ["AddResource", ["inf_id", "radl_data", "auth_data", "context"], 3, (s, [id, radl, auth, context]) => s.addResource(id, radl, auth, context)],
  ["RemoveResource", ["inf_id", "vm_list", "auth_data", "context"], 3, (s, [id, vms, auth, context]) => s.removeResource(id, vms, auth, context)],
  ["StopInfrastructure", ["inf_id", "auth_data"], 2, (s, [id, auth]) => s.stopInfrastructure(id, auth)],
  ["StartInfrastructure", ["inf_id", "auth_data"], 2, (s, [id, auth]) => s.startInfrastructure(id, auth)],
  ["StopVM", ["inf_id", "vm_id", "auth_data"], 3, (s, [id, vm, auth]) => s.vmLifecycle(id, vm, auth, "stop")],
  ["StartVM", ["inf_id", "vm_id", "auth_data"], 3, (s, [id, vm, auth]) => s.vmLifecycle(id, vm, auth, "start")],
  ["RebootVM", ["inf_id", "vm_id", "auth_data"], 3, (s, [id, vm, auth]) => s.vmLifecycle(id, vm, auth, "reboot")],
  ["Reconfigure", ["inf_id", "radl_data", "auth_data", "vm_list"], 3, (s, [id, radl, auth, vms]) => s.reconfigure(id, radl, auth, vms)],
  ["ExportInfrastructure", ["inf_id", "delete", "auth_data"], 3, (s, [id, del, auth]) => s.exportInfrastructure(id, del, auth)],
  ["ImportInfrastructure", ["str_inf", "auth_data"], 2, (s, [text, auth]) => s.importInfrastructure(text, auth)],
  ["CreateDiskSnapshot", ["inf_id", "vm_id", "disk_num", "image_name", "auto_delete", "auth_data"], 6, (s, [id, vm, disk, name, autoDelete, auth]) => s.createDiskSnapshot(id, vm, disk, name, autoDelete, auth)],
  ["GetCloudImageList", ["cloud_id", "auth_data", "filters"], 2, (s, [cloud, auth, filters]) => s.getCloudImageList(cloud, auth, filters)],
  ["GetCloudQuotas", ["cloud_id", "auth_data"], 2, (s, [cloud, auth]) => s.getCloudQuotas(cloud, auth)],
  ["ChangeInfrastructureAuth", ["inf_id", "new_auth_data", "overwrite", "auth_data"], 4, (s, [id, newAuth, overwrite, auth]) => s.changeInfrastructureAuth(id, newAuth, overwrite, auth)],
  ["GetInfrastructureOwners", ["inf_id", "auth_data"], 2, (s, [id, auth]) => s.getInfrastructureOwners(id, auth)],
  ["EstimateResources", ["radl_data", "auth_data"], 2, (s, [radl, auth]) => s.estimateResources(radl, auth)],
  ["GetStats", ["init_date", "end_date", "auth_data"], 3, (s, [from, to, auth]) => s.getStats(from, to, auth)],
];

export const IM_METHOD_NAMES = METHODS.map(([name]) => name);

/** The XML-RPC methods, each answering `[true, value]` or `[false, message]` (GetVersion too). */
export function imMethods(service: ImService, log: RuntimeLogger): RpcMethod[] {
  return METHODS.map(([name, params, required, call]) => ({
    name,
    params,
    required,
    handler: async (args: unknown[]) => {
      try {
        return [true, toWire(await call(service, args))];
      } catch (error) {
        return [false, errorToWire(error, name, log)];
      }
    },
  }));
}

/** The one place where errors become wire messages: IM's text for known errors, the message otherwise. */
export function errorToWire(error: unknown, method: string, log: RuntimeLogger): string {
  if (error instanceof ImError || error instanceof RadlError) return error.message;
  log.error("unexpected error in an IM method", { method, error: error instanceof Error ? error.stack : String(error) });
  return error instanceof Error ? error.message : String(error);
}

function toWire(value: unknown): unknown {
  return value instanceof FloatValue ? new XmlRpcDouble(value.value) : value;
}
