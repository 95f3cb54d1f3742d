// Entry point of the embedded runner's stage threads (threads.ts): a worker
// thread starts with no loader hooks of its own, so register the TypeScript
// loader (as bin/neurox.js and sandbox.mjs do) before importing the stages.
import { register } from 'tsx/esm/api';

register();
await import('./threadMain.ts');
