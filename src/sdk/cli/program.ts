/**
 * The `recognite` command line, on commander. Exit codes: 0 success; 2 bad usage (an unknown command
 * or option, with the nearest valid name, or options the SDK's schemas refuse: the CLI and the SDK
 * validate with the same generated schemas); 1 a failure while running (the message; the stack with
 * --verbose); 130 stopped by Ctrl-C (cli/interrupt.ts).
 */
import { Command, CommanderError } from 'commander';
import { AbortError, RecogniteError, ValidationError } from '../core/errors.js';
import { registerCatalogCommands } from './commands/catalog.js';
import { registerDataCommands } from './commands/data.js';
import { registerEmbedCommand } from './commands/embed.js';
import { registerEvalCommand } from './commands/evaluate.js';
import { registerExportCommand } from './commands/export.js';
import { registerGalleryCommands } from './commands/gallery.js';
import { registerTrainCommand } from './commands/train.js';
import { INTERRUPTED_EXIT_CODE } from './interrupt.js';
import { inFlags, UsageError } from './options.js';
import { registerSetupCommands } from './commands/setup.js';

let running: Command | undefined;

export function buildProgram(): Command {
  const program = new Command('recognite')
    .description('Train, evaluate and run image recognition models (a persistent PyTorch worker behind a typed SDK).')
    .option('--verbose', 'print the stack trace of a failure')
    .showSuggestionAfterError(true)
    .showHelpAfterError('(run recognite --help for the commands)')
    .exitOverride();

  // which command ran, to word the SDK's validation errors in its flags
  program.hook('preAction', (_program, actionCommand) => {
    running = actionCommand;
  });
  registerCatalogCommands(program);
  registerDataCommands(program);
  registerTrainCommand(program);
  registerEmbedCommand(program);
  registerEvalCommand(program);
  registerGalleryCommands(program);
  registerExportCommand(program);
  registerSetupCommands(program);
  return program;
}

/** Run the CLI; the exit code. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander printed the reason (with the nearest command or option); --help and --version are not failures
      return err.exitCode === 0 ? 0 : 2;
    }
    const verbose = program.opts<{ verbose?: boolean }>().verbose === true;
    if (err instanceof AbortError) {
      console.error('recognite: stopped (Ctrl-C)');
      return INTERRUPTED_EXIT_CODE;
    }
    if (err instanceof ValidationError || err instanceof UsageError) {
      console.error(`recognite: ${err instanceof ValidationError ? inFlags(err, running) : err.message}`);
      return 2;
    }
    const message = err instanceof RecogniteError || err instanceof Error ? err.message : String(err);
    console.error(`recognite: ${message}`);
    if (verbose && err instanceof Error && err.stack) console.error(err.stack);
    return 1;
  }
}
