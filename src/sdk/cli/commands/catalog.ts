/** `recognite info`, `models` and `doctor`: what is installed, and what it can run. */
import type { Command } from 'commander';
import { Recognite } from '../../core/recognite.js';
import { allModelInfo } from '../../model/catalog.js';
import { doctor } from '../doctor.js';
import { json } from '../options.js';
import { printRecord, printTable } from '../output.js';

export function registerCatalogCommands(program: Command): void {
  program
    .command('info')
    .description('start the Python worker and print its versions, device and threads')
    .addOption(json())
    .addHelpText('after', '\nExample:\n  $ recognite info --json')
    .action(async (opts: { json?: boolean }) => {
      await using rt = await Recognite.start();
      printRecord({ json: opts.json === true }, { ...(await rt.info()) });
    });

  program
    .command('models')
    .description('list the supported backbones: embedding size, parameters, input sizes, pretrained weights')
    .addOption(json())
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
    .addOption(json())
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
}
