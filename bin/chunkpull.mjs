#!/usr/bin/env node
// The command line: the bundle when the build made one (faster start), else the compiled modules.
import { existsSync } from "node:fs";

const bundle = new URL("../dist/bin/chunkpull.mjs", import.meta.url);
await import(existsSync(bundle) ? bundle.href : "../dist/src/cli/main.js");
