#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=1 --gc-memory-reducer-start-delay-ms=500
// Thin launcher: the agent is TypeScript run directly by Node 24's type stripping (no build step).
// `npm`/`npx` put the pinned Node 24 (devDependency "node") first on PATH. The memory settings on the first line
// are the product's (docs/deployment.md "Memory settings"); test/core/runtime-settings.test.ts keeps every launch point in step.
import '../src/main.ts';
