#!/usr/bin/env node
// Runs the TypeScript CLI directly: tsx's loader is a runtime dependency, so
// there is no build step between `npm ci` and `neurox`.
import { register } from 'tsx/esm/api';

// The pinned AWS SDK supports Node 20 but prints a multi-line notice on every
// S3 command that its releases after January 2027 will need Node 22 (README,
// Limits). Say it once there, not on every run; 'false' brings it back.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv);
