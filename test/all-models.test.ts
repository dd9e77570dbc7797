// Every supported backbone, through the SDK, with random weights: built, forwarded in both modes, disposed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Recognite, SUPPORTED_MODELS, Tensor, modelInfo } from 'recognite-ts';

let rt: Recognite;
before(async () => {
  rt = await Recognite.start({ device: 'cpu' });
});
after(async () => {
  await rt.close();
});

const NUM_CLASSES = 5;

for (const name of SUPPORTED_MODELS) {
  test(`${name}: logits N × ${NUM_CLASSES} in training mode, catalog-sized embeddings in evaluation mode`, async () => {
    const info = modelInfo(name);
    const size = info.minInputSize;
    const x = new Tensor(
      new Float32Array(2 * 3 * size * size).map((_, i) => Math.sin(i)),
      [2, 3, size, size],
    );
    const model = await rt.createRecognizer({ modelName: name, numClasses: NUM_CLASSES });
    try {
      assert.equal(model.embeddingDim, info.embeddingDim);
      assert.deepEqual((await model.forward(x)).shape, [2, NUM_CLASSES]);
      await model.eval();
      assert.deepEqual((await model.forward(x)).shape, [2, info.embeddingDim]);
    } finally {
      await model.dispose();
    }
  });
}
