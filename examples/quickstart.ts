// Quickstart: start the worker, show what it runs on, and push a tensor through it and back.
import { Recognite, Tensor } from 'recognite-ts';

await using rt = await Recognite.start();
console.log('worker:', await rt.info());

const x = new Tensor(
  Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i / 10),
  [2, 3, 4],
);
const back = await rt.echo(x);
const same = back.data.every((v, i) => v === x.data[i]);
console.log(
  `echo of a ${x.shape.join('×')} ${x.dtype} tensor through shared memory: ${same ? 'identical' : 'DIFFERENT'}`,
);
