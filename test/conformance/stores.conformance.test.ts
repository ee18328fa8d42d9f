// The built-in stores run the store kit: lowdb with the kit's file corruptions, memory with
// the checks that cannot apply to a store that keeps nothing once closed marked so.
import { join } from "node:path";
import { PACKAGE_ROOT } from "../../runtime/config.ts";
import { fileCorruptions, notApplicable, registerConformance, storeConformance } from "../../runtime/testing/index.ts";

registerConformance(storeConformance({
  module: join(PACKAGE_ROOT, "plugins/stores/lowdb/index.ts"),
  corrupt: fileCorruptions(),
}));

registerConformance(storeConformance({
  module: join(PACKAGE_ROOT, "plugins/stores/memory/index.ts"),
  corrupt: notApplicable("the memory store keeps records in memory only, where no crash or disk fault can reach them"),
  restart: notApplicable("the memory store keeps nothing once closed"),
}));
