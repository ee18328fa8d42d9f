// piscina's entry for worker threads: worker threads do not inherit tsx's hooks on Node 20,
// so register them here before importing the TypeScript worker.
import { register } from "tsx/esm/api";

register();
const worker = await import(new URL("./worker.ts", import.meta.url).href);
export default worker.default;
