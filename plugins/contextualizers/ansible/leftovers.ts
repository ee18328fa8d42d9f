import { readdirSync, readFileSync } from "node:fs";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stopConnectionMasters } from "./ansible-run.ts";

// A server that dies (SIGKILL, power loss) in the middle of a playbook leaves its run folder,
// with become passwords and the runner's key in it, and ansible-playbook still running. Each
// run folder names the server process that owns it; a later server removes the folders whose
// owner is gone, with whatever still runs from them.

export const RUN_PREFIX = "im-ansible-";
const OWNER_FILE = "owner.json";

interface Owner {
  pid: number;
  /** The owner's start time (/proc/PID/stat), so that a reused PID is not taken for it. */
  started: string;
  controlDir: string;
}

/** Marks a run folder as this process's. */
export async function claimRunFolder(dir: string, controlDir: string): Promise<void> {
  const owner: Owner = { pid: process.pid, started: startTime(process.pid) ?? "", controlDir };
  await writeFile(join(dir, OWNER_FILE), JSON.stringify(owner), { mode: 0o600 });
}

/** Removes the run folders of servers that are gone, after stopping what still runs from them. */
export async function sweepAbandonedRuns(root = tmpdir()): Promise<string[]> {
  const swept: string[] = [];
  for (const name of await readdir(root).catch(() => [])) {
    if (!name.startsWith(RUN_PREFIX)) continue;
    const dir = join(root, name);
    let owner: Owner;
    try {
      owner = JSON.parse(await readFile(join(dir, OWNER_FILE), "utf8")) as Owner;
    } catch {
      continue; // being created, or not ours
    }
    if (startTime(owner.pid) === owner.started) continue;
    for (const pid of processesMentioning(dir)) killGroupOrProcess(pid);
    await stopConnectionMasters(owner.controlDir);
    await rm(owner.controlDir, { recursive: true, force: true });
    await rm(dir, { recursive: true, force: true });
    swept.push(dir);
  }
  return swept;
}

function startTime(pid: number): string | undefined {
  try {
    // The command name in parentheses may hold spaces: fields count from after it.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** The processes whose command line names `dir`: the ansible-playbook of that run and its workers. */
function processesMentioning(dir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(dir)) found.push(Number(entry));
    } catch {
      // ended meanwhile
    }
  }
  return found;
}

/** Kills the process group `pid` leads, or the process alone when it leads none. */
function killGroupOrProcess(pid: number): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, "SIGKILL");
      return;
    } catch {
      // not a group leader, or gone
    }
  }
}
