/** `recognite synth` and `split`: a synthetic data set, and recognite's split by identity. */
import { Option, type Command } from 'commander';
import { Recognite } from '../../core/recognite.js';
import { forSdk, integer, json } from '../options.js';
import { printRecord, printTable } from '../output.js';

export function registerDataCommands(program: Command): void {
  program
    .command('synth')
    .description('write a synthetic recognition data set (images/ and dataset.csv)')
    .addOption(
      forSdk(new Option('--out <dir>', 'folder to write into (created if missing)'), 'outDir').makeOptionMandatory(),
    )
    .option('--identities <n>', 'number of identities', integer, 10)
    .addOption(
      forSdk(new Option('--samples <n>', 'images per identity').argParser(integer).default(4), 'samplesPerIdentity'),
    )
    .option('--size <px>', 'side of the square images (default 64)', integer)
    .option('--seed <n>', 'seed: the same seed writes the same files (default 0)', integer)
    .addOption(new Option('--format <format>', 'image format (default png)').choices(['png', 'jpg']))
    .addOption(json())
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
    .addOption(forSdk(new Option('--out <dir>', 'folder for the part CSVs'), 'outDir').makeOptionMandatory())
    .addOption(
      forSdk(new Option('--folds <n>', 'number of label-disjoint folds (default 5)').argParser(integer), 'numFolds'),
    )
    .option('--val-fold <n>', 'the fold used for validation (default 0)', integer)
    .option('--seed <n>', 'seed of the fold split (default 0)', integer)
    .option('--num-refs <n>', 'gallery references per validation identity (default 1)', integer)
    .option('--ref-seed <n>', 'seed of the gallery/query split (default 0)', integer)
    .addOption(json())
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
}
