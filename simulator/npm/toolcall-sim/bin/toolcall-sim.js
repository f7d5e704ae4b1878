#!/usr/bin/env node
// Runs the platform package's binary with this process's arguments and
// stdio, and exits with its status.
import { spawnSync } from "node:child_process";
import { findBinary } from "../index.js";

let binary;
try {
  binary = findBinary();
} catch (error) {
  console.error(error.message);
  process.exit(2);
}
const result = spawnSync(binary, process.argv.slice(2), { stdio: "inherit" });
if (result.error) {
  console.error(`toolcall-sim: cannot run ${binary}: ${result.error.message}`);
  process.exit(2);
}
process.exit(result.status ?? 1);
