#!/usr/bin/env node
// Entry point of the `infra-manager` command. The sources are TypeScript run through tsx, so
// operators need no build step.
import { register } from "tsx/esm/api";

register();
const { main } = await import("./main.ts");
process.exitCode = await main(process.argv.slice(2));
