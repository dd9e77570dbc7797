/**
 * The `recognite` command line, on commander. Exit codes: 0 success; 2 bad usage (an unknown command
 * or option, with the nearest valid name, or options the SDK's schemas refuse: the CLI and the SDK
 * validate with the same generated schemas); 1 a failure while running (the message; the stack with
 * --verbose).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { RecogniteError, ValidationError } from '../core/errors.js';
import { Recognite } from '../core/recognite.js';
import { allModelInfo } from '../model/catalog.js';
import { doctor } from './doctor.js';
import { printRecord, printTable } from './output.js';

/** An integer option value (commander passes strings). */
function integer(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`'${value}' is not an integer.`);
  return n;
}

const json = new Option('--json', 'print machine-readable JSON only');

export function buildProgram(): Command {
  const program = new Command('recognite')
    .description('Train, evaluate and run image recognition models (a persistent PyTorch worker behind a typed SDK).')
    .option('--verbose', 'print the stack trace of a failure')
    .showSuggestionAfterError(true)
    .showHelpAfterError('(run recognite --help for the commands)')
    .exitOverride();

  program
    .command('info')
    .description('start the Python worker and print its versions, device and threads')
    .addOption(json)
    .addHelpText('after', '\nExample:\n  $ recognite info --json')
    .action(async (opts: { json?: boolean }) => {
      await using rt = await Recognite.start();
      printRecord({ json: opts.json === true }, { ...(await rt.info()) });
    });

  program
    .command('models')
    .description('list the supported backbones: embedding size, parameters, input sizes, pretrained weights')
    .addOption(json)
    .addHelpText('after', '\nExample:\n  $ recognite models --json | jq ".[] | select(.embeddingDim == 512) | .name"')
    .action((opts: { json?: boolean }) => {
      const models = allModelInfo();
      const rows = models.map((m) => [
        m.name,
        String(m.embeddingDim),
        m.parameters.toLocaleString('en-US'),
        m.fixedInputSize ? `=${m.minInputSize}` : `>=${m.minInputSize}`,
        String(m.defaultInputSize),
        m.weights.join(', ') || '-',
      ]);
      printTable(
        { json: opts.json === true },
        models,
        ['model', 'embedding', 'parameters', 'input', 'default', 'weights'],
        rows,
      );
    });

  program
    .command('doctor')
    .description('check Python, torch, CUDA, shared memory and the native add-on, with the fix for each problem')
    .option('--clean', 'also remove the shared-memory files of sessions whose Node process died (SIGKILL)')
    .addOption(json)
    .addHelpText('after', '\nExamples:\n  $ recognite doctor\n  $ recognite doctor --clean --json')
    .action(async (opts: { clean?: boolean; json?: boolean }) => {
      const report = await doctor(opts.clean === true);
      if (opts.json) console.log(JSON.stringify(report));
      else {
        for (const c of report.checks) {
          console.log(
            `${c.ok ? 'ok  ' : 'FAIL'}  ${c.check.padEnd(16)} ${c.detail}${c.fix ? `\n      fix: ${c.fix}` : ''}`,
          );
        }
        if (report.cleaned) console.log(`cleaned: ${report.cleaned.length} folder(s) of dead sessions`);
      }
      if (report.checks.some((c) => !c.ok)) process.exitCode = 1;
    });

  program
    .command('synth')
    .description('write a synthetic recognition data set (images/ and dataset.csv)')
    .requiredOption('--out <dir>', 'folder to write into (created if missing)')
    .option('--identities <n>', 'number of identities', integer, 10)
    .option('--samples <n>', 'images per identity', integer, 4)
    .option('--size <px>', 'side of the square images (default 64)', integer)
    .option('--seed <n>', 'seed: the same seed writes the same files (default 0)', integer)
    .addOption(new Option('--format <format>', 'image format (default png)').choices(['png', 'jpg']))
    .addOption(json)
    .addHelpText('after', '\nExample:\n  $ recognite synth --out data --identities 100 --samples 20')
    .action(
      async (opts: {
        out: string;
        identities: number;
        samples: number;
        size?: number;
        seed?: number;
        format?: 'png' | 'jpg';
        json?: boolean;
      }) => {
        await using rt = await Recognite.start();
        const ds = await rt.data.generateSynthetic({
          outDir: opts.out,
          identities: opts.identities,
          samplesPerIdentity: opts.samples,
          ...(opts.size !== undefined && { size: opts.size }),
          ...(opts.seed !== undefined && { seed: opts.seed }),
          ...(opts.format !== undefined && { format: opts.format }),
        });
        printRecord(
          { json: opts.json === true },
          { csv: ds.csv, images: ds.numImages, identities: ds.identities, size: ds.size },
        );
      },
    );

  program
    .command('split')
    .description(
      "split a data set by identity as recognite does: train, and the validation identities' gallery and queries",
    )
    .requiredOption('--data <csv>', 'the data set (a CSV with image and label columns)')
    .requiredOption('--out <dir>', 'folder for the part CSVs')
    .option('--folds <n>', 'number of label-disjoint folds (default 5)', integer)
    .option('--val-fold <n>', 'the fold used for validation (default 0)', integer)
    .option('--seed <n>', 'seed of the fold split (default 0)', integer)
    .option('--num-refs <n>', 'gallery references per validation identity (default 1)', integer)
    .option('--ref-seed <n>', 'seed of the gallery/query split (default 0)', integer)
    .addOption(json)
    .addHelpText('after', '\nExample:\n  $ recognite split --data data/dataset.csv --out parts --folds 5 --val-fold 0')
    .action(
      async (opts: {
        data: string;
        out: string;
        folds?: number;
        valFold?: number;
        seed?: number;
        numRefs?: number;
        refSeed?: number;
        json?: boolean;
      }) => {
        await using rt = await Recognite.start();
        const parts = await rt.data.trainValDatasets(
          { csv: opts.data },
          {
            outDir: opts.out,
            ...(opts.folds !== undefined && { numFolds: opts.folds }),
            ...(opts.valFold !== undefined && { valFold: opts.valFold }),
            ...(opts.seed !== undefined && { seed: opts.seed }),
            ...(opts.numRefs !== undefined && { numRefs: opts.numRefs }),
            ...(opts.refSeed !== undefined && { refSeed: opts.refSeed }),
          },
        );
        const rows = (['train', 'gallery', 'query'] as const).map((name) => [
          name,
          parts[name].csv,
          String(parts[name].rows),
          String(parts[name].labels),
        ]);
        printTable({ json: opts.json === true }, parts, ['part', 'csv', 'rows', 'identities'], rows);
        for (const warning of parts.warnings) console.error(`warning: ${warning}`);
      },
    );

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
    if (err instanceof ValidationError) {
      console.error(`recognite: ${err.message}`);
      return 2;
    }
    const message = err instanceof RecogniteError || err instanceof Error ? err.message : String(err);
    console.error(`recognite: ${message}`);
    if (verbose && err instanceof Error && err.stack) console.error(err.stack);
    return 1;
  }
}
