#!/usr/bin/env node
// Thin launcher: the agent is TypeScript run directly by Node 24's type stripping (no build step).
// `npm`/`npx` put the pinned Node 24 (devDependency "node") first on PATH.
import '../src/main.ts';
