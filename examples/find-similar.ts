// Find similar images: enrol reference photos of known identities in a gallery, calibrate when to say
// "unknown", then ask who is in new images: the top matches of each, and a verdict (a known identity, or
// "unknown" for someone never enrolled).
// Run it with `npx tsx examples/find-similar.ts` (RECOGNITE_EXAMPLE_SMALL=1: a tiny run).

// %% [Setup]
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { Recognite, type QueryAnswer } from 'recognite-ts';

const SMALL = process.env.RECOGNITE_EXAMPLE_SMALL === '1';
const OUT = join(import.meta.dirname, '..', 'out', 'examples', SMALL ? 'small' : '', 'find-similar');
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const SIZE = SMALL ? 32 : 64;
const pct = (rate: number | null | undefined): string => (rate == null ? 'n/a' : `${(100 * rate).toFixed(1)} %`);
function table(header: string[], rows: Array<Array<string | number>>): void {
  console.log(`| ${header.join(' | ')} |`);
  console.log(`| ${header.map(() => '---').join(' | ')} |`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}
/** The rows of a CSV this SDK wrote (image,label; no quoted fields in these), image paths made absolute. */
function readRows(csv: string): Array<{ image: string; label: string }> {
  const lines = readFileSync(csv, 'utf8').trim().split('\n').slice(1);
  return lines.map((line) => {
    const [image = '', label = ''] = line.split(',');
    return { image: resolve(dirname(csv), image), label };
  });
}

await using rt = await Recognite.start();

// %% [A model that has learnt what makes identities differ]
// A short training on synthetic identities; the gallery below uses identities this model never saw.
const data = await rt.data.generateSynthetic({
  outDir: join(OUT, 'data'),
  identities: SMALL ? 12 : 80,
  samplesPerIdentity: SMALL ? 4 : 10,
  size: SIZE,
});
const { train, val } = await rt.data.kFoldSplit(data, { outDir: join(OUT, 'split'), numFolds: SMALL ? 3 : 4 });
await using model = await rt.createRecognizer({ modelName: 'resnet18', numClasses: train.labels });
await model.fit({ train, epochs: SMALL ? 1 : 3, batchSize: 32, size: SIZE, lr: 0.05 });
console.log(`model: resnet18 trained on ${train.labels} identities; ${val.labels} others kept for the gallery`);

// %% [Who is known, who is not]
// Of the unseen identities, most are enrolled (two reference photos each) and a few stay strangers.
// Their other photos are split in two: some to calibrate the threshold, the rest are the "new images".
const byLabel = new Map<string, string[]>();
for (const row of readRows(val.csv)) byLabel.set(row.label, [...(byLabel.get(row.label) ?? []), row.image]);
const labels = [...byLabel.keys()].sort();
const strangers = new Set(labels.slice(Math.ceil(labels.length * 0.75)));
const refs = { paths: [] as string[], labels: [] as string[] };
const calibration = { paths: [] as string[], labels: [] as string[] };
const newImages: Array<{ path: string; truth: string }> = [];
for (const label of labels) {
  const images = byLabel.get(label) ?? [];
  const rest = strangers.has(label) ? images : images.slice(2);
  if (!strangers.has(label)) {
    refs.paths.push(...images.slice(0, 2));
    refs.labels.push(...images.slice(0, 2).map(() => label));
  }
  rest.forEach((image, i) => {
    if (i % 2 === 0) {
      calibration.paths.push(image);
      calibration.labels.push(label);
    } else newImages.push({ path: image, truth: label });
  });
}
console.log(
  `enrolled: ${labels.length - strangers.size} identities (${refs.paths.length} photos); strangers: ${[...strangers].join(', ')}`,
);

// %% [Build the gallery]
await using people = await rt.createGallery({ model });
await people.add(refs, { size: SIZE });
console.log(`gallery: ${people.size} references of ${people.labelCount} identities`);

// %% [Calibrate: when is a best match good enough?]
// The held-out photos (of enrolled people and of strangers) choose the lowest threshold that lets at most
// 5 % of the impostor attempts through; identify() answers "unknown" below it.
const cal = await people.calibrate(calibration, { targetFar: 0.05, size: SIZE });
table(
  ['threshold', 'false accepts', 'true accepts', 'identified', 'strangers rejected'],
  [[cal.threshold.toFixed(3), pct(cal.far), pct(cal.tar), pct(cal.identificationRate), pct(cal.unknownRejection)]],
);

// %% [Identify new images]
const { answers } = await people.identify(
  newImages.map((n) => n.path),
  { k: 3, size: SIZE },
);
const results = newImages.flatMap((image, i) => {
  const answer = answers[i];
  return answer ? [{ ...image, answer }] : [];
});
const verdict = (a: QueryAnswer): string => (a.label === null ? 'unknown' : String(a.label));
const SHOWN = SMALL ? results.length : 12;
console.log(`\n${results.length} new images; the first ${Math.min(SHOWN, results.length)}:`);
table(
  ['image', 'truth', 'verdict', 'score', 'top matches'],
  results
    .slice(0, SHOWN)
    .map(({ path, truth, answer }) => [
      `${basename(dirname(path))}/${basename(path)}`,
      strangers.has(truth) ? `${truth} (stranger)` : truth,
      verdict(answer),
      answer.score.toFixed(3),
      answer.matches.map((m) => `${m.label} ${m.score.toFixed(2)}`).join(', '),
    ]),
);

// %% [How often was it right?]
let right = 0;
let wrongPerson = 0;
let missed = 0;
let strangerRejected = 0;
let strangerAccepted = 0;
for (const { truth, answer } of results) {
  if (strangers.has(truth)) {
    if (answer.label === null) strangerRejected++;
    else strangerAccepted++;
  } else if (answer.label === truth) right++;
  else if (answer.label === null) missed++;
  else wrongPerson++;
}
console.log('');
table(
  [
    'enrolled: right',
    'enrolled: wrong person',
    'enrolled: "unknown"',
    'strangers: "unknown"',
    'strangers: taken for someone',
  ],
  [[right, wrongPerson, missed, strangerRejected, strangerAccepted]],
);
console.log(`\n(relative paths are under ${relative(process.cwd(), data.imageDir)}/)`);
