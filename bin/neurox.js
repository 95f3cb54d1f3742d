#!/usr/bin/env node
// Runs the TypeScript CLI directly: tsx's loader is a runtime dependency, so
// there is no build step between `npm ci` and `neurox`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv);
