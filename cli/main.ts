/**
 * `neurox` command line: one module per command in cli/commands/, each
 * exporting `register(program)`. Commands import their heavy dependencies
 * (model runtimes, S3, BullMQ) lazily inside their actions so that `--help`
 * stays instant.
 */
import { Command, CommanderError } from 'commander';
import { commands } from './commands/index.ts';
import { formatError } from './errors.ts';

export function buildProgram(): Command {
  const program = new Command('neurox')
    .description('Neuron-level interpretation of language models at corpus scale (NeuroX-compatible).')
    .version(process.env.npm_package_version ?? '0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const register of commands) register(program);
  return program;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed help or its own one-line message
      return err.exitCode;
    }
    process.stderr.write(`neurox: ${formatError(err)}\n`);
    if (process.env.NEUROX_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}
