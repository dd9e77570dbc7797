/** `recognite export`: a trained model's embedding path as an ONNX file, with its JSON sidecar, checked against torch. */
import { extname } from 'node:path';
import type { Command } from 'commander';
import { Recognite } from '../../core/recognite.js';
import type { OnnxExportProgress } from '../../deploy/config.js';
import { onCtrlC } from '../interrupt.js';
import { addModelOptions, json, loadModel, SchemaOptions, UsageError } from '../options.js';
import { printRecord } from '../output.js';
import { createProgress } from '../progress.js';

const exporting = new SchemaOptions('ExportOnnxConfig', ['size', 'dynamicBatch', 'opset']);
const STAGES: Array<OnnxExportProgress['stage']> = ['copying', 'exporting', 'checking'];

interface ExportCommandOptions {
  checkpoint: string;
  model?: string;
  out: string;
  json?: boolean;
  [option: string]: unknown;
}

export function registerExportCommand(program: Command): void {
  const command = addModelOptions(
    program
      .command('export')
      .description(
        'export a trained model to ONNX (backbone + L2 normalisation, as embed computes it) with a JSON sidecar ' +
          '(<out>.json: input size, preprocessing, opset, weights fingerprint), checked with onnxruntime against torch',
      ),
  ).requiredOption('--out <model.onnx>', 'the .onnx file to write (its sidecar goes beside it, as <out>.json)');
  exporting.addTo(command);
  command
    .addOption(json())
    .addHelpText(
      'after',
      '\nExamples:\n  $ recognite export --checkpoint checkpoints/last.pt --out model.onnx' +
        '\n  $ recognite export --checkpoint model.pt --model resnet18 --out model.onnx --size 128 --no-dynamic-batch',
    )
    .action(async (opts: ExportCommandOptions) => exportModel(opts));
}

async function exportModel(opts: ExportCommandOptions): Promise<void> {
  if (extname(opts.out).toLowerCase() !== '.onnx')
    throw new UsageError(`--out must name a .onnx file, got ${opts.out}`);
  const picked = exporting.checked(opts);
  using interrupt = onCtrlC();
  const progress = createProgress({ json: opts.json === true });
  await using rt = await Recognite.start();
  await using model = await loadModel(rt, opts);
  progress.begin();
  const onProgress = (e: OnnxExportProgress): void => {
    progress.update({ phase: e.stage, done: STAGES.indexOf(e.stage), total: STAGES.length });
  };
  let result;
  try {
    result = await model.exportOnnx(opts.out, { ...picked, signal: interrupt.signal, onProgress });
  } finally {
    progress.stop();
  }
  if (opts.json === true) {
    console.log(JSON.stringify(result));
    return;
  }
  const { sidecar } = result;
  printRecord(
    { json: false },
    {
      out: result.path,
      sidecar: result.sidecarPath,
      model: sidecar.modelName,
      inputSize: sidecar.inputSize,
      embeddingDim: sidecar.embeddingDim,
      dynamicBatch: sidecar.input.dynamicBatch,
      opset: sidecar.opset,
      maxAbsDiff: sidecar.check.maxAbsDiff.toExponential(2),
      minCosine: sidecar.check.minCosine.toFixed(6),
    },
  );
}
