// The command line under bad arguments, as a careless or hostile user types them: each gets exit code 2,
// one reason in the CLI's own words (the flag, not the SDK's option name), the fix where there is one,
// no stack trace, and nothing written.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { REPO_ROOT } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'recognite-cli-bad-'));
const out = join(dir, 'out'); // no case may create it
const csv = join(dir, 'data.csv');
writeFileSync(csv, 'image,label\na.png,x\n');
const text = join(dir, 'notes.txt');
writeFileSync(text, 'not a model');
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

function recognite(args: string[]) {
  return spawnSync(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', join(REPO_ROOT, 'src', 'sdk', 'cli.ts'), ...args],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    },
  );
}

const train = ['train', '--data', csv, '--model', 'resnet18', '--checkpoint-dir', out];
const CASES: Array<[string, string[], RegExp]> = [
  ['no command', [], /Usage: recognite \[options\] \[command\]/],
  ['a misspelt command', ['evl'], /unknown command 'evl'[\s\S]*Did you mean eval\?/],
  ['a misspelt subcommand', ['gallery', 'identfy'], /unknown command 'identfy'[\s\S]*Did you mean identify\?/],
  ['a misspelt option', [...train, '--epochs', '1', '--learning-rate', '1'], /unknown option '--learning-rate'/],
  ['an extra argument', ['models', 'resnet18'], /too many arguments for 'models'/],
  [
    'a required option missing',
    ['train', '--data', csv, '--model', 'resnet18'],
    /required option '--epochs <n>' not specified/,
  ],
  ['an option without its value', ['eval', '--checkpoint'], /option '--checkpoint <file>' argument missing/],
  ['a word for an integer', [...train, '--epochs', 'ten'], /'ten' is not an integer/],
  ['a fraction for an integer', [...train, '--epochs', '1.5'], /'1\.5' is not an integer/],
  ['NaN for a number', [...train, '--epochs', '1', '--lr', 'NaN'], /'NaN' is not a number/],
  ['Infinity for a number', [...train, '--epochs', '1', '--lr', 'Infinity'], /'Infinity' is not a number/],
  ['an empty number', [...train, '--epochs', '1', '--lr', ''], /'' is not a number/],
  ['zero epochs', [...train, '--epochs', '0'], /--epochs: must be >= 1; got 0/],
  ['a huge number', [...train, '--epochs', '1', '--batch-size', '1e12'], /--batch-size: must be <= 65536/],
  ['a negative learning rate', [...train, '--epochs', '1', '--lr', '-0.1'], /--lr: must be > 0/],
  ['a learning rate that is absurd', [...train, '--epochs', '1', '--lr', '1e30'], /--lr: must be <= 100/],
  ['a choice not offered', [...train, '--epochs', '1', '--precision', 'fp8'], /Allowed choices are bf16, fp16, fp32/],
  [
    'an unknown backbone',
    ['train', '--data', csv, '--model', 'resnet19', '--epochs', '1', '--checkpoint-dir', out],
    /--model: unknown value "resnet19" \(did you mean 'resnet18'/,
  ],
  [
    'unknown weights',
    [...train, '--epochs', '1', '--weights', 'IMAGENET'],
    /--weights: unknown weights "IMAGENET" for resnet18; valid: ResNet18_Weights\.IMAGENET1K_V1, DEFAULT/,
  ],
  [
    'a checkpoint to resume that is not there',
    [...train, '--epochs', '1', '--resume', join(dir, 'gone.pt')],
    /--resume: checkpoint not found/,
  ],
  [
    'two sources of data',
    ['train', '--data', csv, '--train', csv, '--model', 'resnet18', '--epochs', '1'],
    /'--data <csv>' cannot be used with option '--train <csv>'/,
  ],
  [
    'no data at all',
    ['train', '--model', 'resnet18', '--epochs', '1', '--checkpoint-dir', out],
    /give the data: --data data\.csv .* or --train train\.csv/,
  ],
  [
    'half a validation set',
    ['train', '--train', csv, '--gallery', csv, '--model', 'resnet18', '--epochs', '1', '--checkpoint-dir', out],
    /--gallery and --query go together/,
  ],
  [
    'embed into a file that is not .npy',
    ['embed', '--checkpoint', text, '--data', csv, '--out', join(out, 'e.txt')],
    /--out must name a \.npy file/,
  ],
  [
    'embed a folder that is not there',
    ['embed', '--checkpoint', text, '--images', join(dir, 'nope'), '--out', join(out, 'e.npy')],
    /cannot read the folder .*nope/,
  ],
  [
    'embed with two sources',
    ['embed', '--checkpoint', text, '--images', dir, '--data', csv, '--out', join(out, 'e.npy')],
    /cannot be used with option '--images <dir>'/,
  ],
  [
    'eval without queries',
    ['eval', '--checkpoint', text, '--gallery', csv],
    /--gallery gallery\.csv with --query query\.csv/,
  ],
  [
    'identify without queries',
    ['gallery', 'identify', '--checkpoint', text, '--gallery', dir],
    /give the queries: --images DIR or --data queries\.csv/,
  ],
  [
    'a gallery backend not offered',
    ['gallery', 'build', '--checkpoint', text, '--gallery', out, '--data', csv, '--backend', 'annoy'],
    /Allowed choices are exact, faiss/,
  ],
  [
    'a negative k',
    ['gallery', 'identify', '--checkpoint', text, '--gallery', dir, '--images', dir, '--k', '-3'],
    /'-3'|--k: must be >= 1/,
  ],
  [
    'a synthetic set of one identity',
    ['synth', '--out', out, '--identities', '1'],
    /--identities: must be >= 2; got 1/,
  ],
  ['a split with one fold', ['split', '--data', csv, '--out', out, '--folds', '1'], /--folds: must be >= 2; got 1/],
];

for (const [name, args, reason] of CASES) {
  test(`BAD CALL - ${name}: exit 2, the reason, nothing written`, () => {
    const run = recognite(args);
    assert.equal(run.status, 2, `exit ${run.status}\n${run.stdout}\n${run.stderr}`);
    assert.match(run.stderr, reason);
    assert.doesNotMatch(run.stderr, /\n\s+at .+:\d+:\d+/, 'no stack trace');
    assert.ok(!existsSync(out), 'nothing written');
  });
}
