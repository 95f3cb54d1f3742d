// Entry point of BullMQ's sandboxed child processes: the children are plain
// `node`, so register the TypeScript loader (as bin/neurox.js does) before
// importing the processor.
import { register } from 'tsx/esm/api';

register();
const { default: processStage } = await import('./processor.ts');
export default processStage;
