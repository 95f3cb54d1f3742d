import type { Command } from 'commander';
import { register as analyzeCommand } from './analyze.ts';
import { register as submitCommand } from './submit.ts';
import { register as statusCommand } from './status.ts';
import { register as workerCommand } from './worker.ts';
import { register as extractCommand } from './extract.ts';
import { register as fetchCommand } from './fetch.ts';
import { register as renderCommand } from './render.ts';
import { register as scheduleCommand } from './schedule.ts';
import { register as topWordsCommand } from './topWords.ts';
import { register as urlCommand } from './url.ts';
import { register as visualizeCommand } from './visualize.ts';

/** Each command module registers itself; the order here is the order in `--help`. */
export const commands: Array<(program: Command) => void> = [analyzeCommand, submitCommand, statusCommand, workerCommand, extractCommand, visualizeCommand, topWordsCommand, renderCommand, fetchCommand, urlCommand, scheduleCommand];
