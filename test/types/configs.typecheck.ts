// Type tests: `npm test`'s type check (tsc --noEmit) compiles this file. Each `@ts-expect-error` line
// must fail to compile: if a type ever accepts it, the directive itself becomes the error.
// Nothing here runs.
import { Recognite, Tensor, type FitOptions, type RecognizerConfig, type StartOptions } from 'recognite-ts';

/** Marks values as used. */
function use(...values: unknown[]): unknown[] {
  return values;
}

export async function typeTests(rt: Recognite): Promise<void> {
  // Tensors are typed by their data.
  const f32: Tensor<'float32'> = new Tensor(new Float32Array(4), [2, 2]);
  const i64: Tensor<'int64'> = new Tensor(new BigInt64Array(2));
  const half: Tensor<'float16'> = new Tensor(new Uint16Array(2), [2], 'float16');
  // @ts-expect-error a Float32Array makes a float32 tensor, not a float64 one
  const wrong: Tensor<'float64'> = new Tensor(new Float32Array(4), [2, 2]);
  // @ts-expect-error the dtype must match the typed array
  const mismatch = new Tensor(new Float32Array(4), [4], 'int32');
  use(f32, i64, half, wrong, mismatch);

  // Model names come from the generated catalog.
  const ok: RecognizerConfig = { modelName: 'resnet18' };
  // @ts-expect-error not a supported model name
  const badName: RecognizerConfig = { modelName: 'resnet-18' };
  // @ts-expect-error numClasses is a number
  const badClasses: RecognizerConfig = { modelName: 'resnet18', numClasses: '10' };
  use(ok, badName, badClasses);

  // Options: misspelt, wrongly typed and missing required options do not compile.
  // @ts-expect-error unknown start option
  const badStart: StartOptions = { devcie: 'cpu' };
  // @ts-expect-error not a device
  const badDevice: StartOptions = { device: 'gpu' };
  use(badStart, badDevice);
  const train = { csv: 'data.csv' };
  const fit: FitOptions = { train, epochs: 1 };
  const bf16: FitOptions = { train, epochs: 1, precision: 'bf16' };
  // @ts-expect-error not a precision
  const fp8: FitOptions = { train, epochs: 1, precision: 'fp8' };
  use(bf16, fp8);
  // @ts-expect-error epochs is required
  const noEpochs: FitOptions = { train };
  // @ts-expect-error batchSize, not batchsize
  const misspelt: FitOptions = { train, epochs: 1, batchsize: 8 };
  // @ts-expect-error hflip is a boolean
  const badFlip: FitOptions = { train, epochs: 1, hflip: 'yes' };
  use(fit, noEpochs, misspelt, badFlip);

  const model = await rt.createRecognizer({ modelName: 'resnet18' });
  // @ts-expect-error not a metric
  await model.evaluate({ gallery: train, query: train, metric: 'l2' });
  // @ts-expect-error embed takes a Tensor, image paths or a data set
  await model.embed(42);
  // @ts-expect-error FitResult.config is the resolved config: batchSize is a number, never undefined
  const size: undefined = (await model.fit(fit)).config.batchSize;
  use(size);
  // the resolved config reports what ran
  const flip: boolean = (await model.fit(fit)).config.hflip;
  use(flip);
}
