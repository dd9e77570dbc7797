// Benchmark: how long a bad (and a good) RecognizerConfig takes to validate in TypeScript.
// No worker is started: validation must answer before anything reaches Python.
// Run: npm run bench:validation
import { ValidationError } from 'recognite-ts';
import { resolveRecognizerConfig, type RecognizerConfig } from '../src/sdk/model/config.js';

const CASES: Array<[string, unknown]> = [
  ['good config', { modelName: 'resnet18', numClasses: 10 }],
  ['unknown model name (nearest-name search)', { modelName: 'resnet-18', numClasses: 10 }],
  ['unknown weights name', { modelName: 'resnet18', weights: 'IMAGENET1K_V9' }],
  ['three problems at once', { modelName: 'resnet18', numClasses: 0, clfBias: 'yes', normalise: true }],
];
const WARMUP = 200;
const REPS = 5000;

function run(config: unknown): void {
  try {
    resolveRecognizerConfig(config as RecognizerConfig);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
  }
}

console.log('| config | µs per validation, median | p99 µs |');
console.log('| --- | --- | --- |');
for (const [label, config] of CASES) {
  for (let i = 0; i < WARMUP; i++) run(config);
  const us: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    run(config);
    us.push((performance.now() - t0) * 1000);
  }
  us.sort((a, b) => a - b);
  const at = (p: number): string => us[Math.min(us.length - 1, Math.floor((p / 100) * us.length))]!.toFixed(1);
  console.log(`| ${label} | ${at(50)} | ${at(99)} |`);
}
console.log(
  `\n(${REPS} validations each after ${WARMUP} warm-up; target: a bad config answers in under 1 ms = 1000 µs)`,
);
