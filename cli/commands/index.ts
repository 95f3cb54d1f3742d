import type { Command } from 'commander';
import { register as extractCommand } from './extract.ts';
import { register as fetchCommand } from './fetch.ts';
import { register as renderCommand } from './render.ts';
import { register as topWordsCommand } from './topWords.ts';
import { register as urlCommand } from './url.ts';
import { register as visualizeCommand } from './visualize.ts';

/** Each command module registers itself; the order here is the order in `--help`. */
export const commands: Array<(program: Command) => void> = [extractCommand, visualizeCommand, topWordsCommand, renderCommand, fetchCommand, urlCommand];
