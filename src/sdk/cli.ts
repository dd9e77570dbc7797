#!/usr/bin/env node
/**
 * The `recognite` command line. Commands so far: `info` (start the worker and describe it)
 * and `models` (the supported backbones, from the catalog: no Python needed). `--json`
 * prints machine-readable output. train, embed and eval come with the data, training
 * and evaluation modules.
 */
import { parseArgs } from 'node:util';
import { RecogniteError } from './core/errors.js';
import { allModelInfo } from './model/catalog.js';
import { Recognite } from './core/recognite.js';

const USAGE = `usage: recognite <command> [--json]

commands:
  info     start the Python worker and print its versions, device and threads
  models   list the supported backbones with their embedding size and input sizes`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  const [command] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command || values.help ? 0 : 2;
  }
  switch (command) {
    case 'info': {
      await using rt = await Recognite.start();
      const info = await rt.info();
      if (values.json) console.log(JSON.stringify(info));
      else for (const [k, v] of Object.entries(info)) console.log(`${k.padEnd(18)} ${String(v)}`);
      return 0;
    }
    case 'models': {
      const models = allModelInfo();
      if (values.json) {
        console.log(JSON.stringify(models));
        return 0;
      }
      console.log(
        `${'model'.padEnd(20)} ${'embedding'.padStart(9)} ${'min input'.padStart(9)} ${'parameters'.padStart(12)}`,
      );
      for (const m of models) {
        const size = m.fixedInputSize ? `=${m.minInputSize}` : String(m.minInputSize);
        console.log(
          `${m.name.padEnd(20)} ${String(m.embeddingDim).padStart(9)} ${size.padStart(9)} ${m.parameters.toLocaleString('en-US').padStart(12)}`,
        );
      }
      return 0;
    }
    default:
      console.error(`recognite: unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof RecogniteError ? `recognite: ${err.message}` : err);
    process.exitCode = 1;
  },
);
