import type { Command } from 'commander';

/** Each command module registers itself; the order here is the order in `--help`. */
export const commands: Array<(program: Command) => void> = [];
