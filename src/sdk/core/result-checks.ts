/**
 * The test suite's check of the TS ↔ Python contract from the other side: every worker result
 * (and every job event) is validated against the JSON Schema generated from its TS type, so a
 * type can no longer say one thing while Python sends another. Switched on by
 * RECOGNITE_TEST_MODE=1 (which `npm test` sets); off, it costs nothing.
 */
import { TransportError } from './errors.js';
import type { ResultSchemaName } from './schema-sources.js';
import { resultProblems } from './validate.js';
import type { JobPoll } from './worker-results.js';

/** The schema of each worker method's result. debug.* methods exist only in test mode and are not part of the contract. */
const METHOD_RESULTS: Record<string, ResultSchemaName> = {
  boot: 'WorkerInfo',
  info: 'WorkerInfo',
  shutdown: 'EmptyResult',
  echo: 'EchoResult',
  ping: 'EmptyResult',
  release: 'EmptyResult',
  'shm.trim': 'EmptyResult',
  'shm.shrink': 'EmptyResult',
  'recognizer.create': 'RecognizerDescription',
  'recognizer.mode': 'RecognizerDescription',
  'recognizer.forward': 'ForwardResult',
  'recognizer.classifier': 'ClassifierResult',
  'recognizer.save': 'EmptyResult',
  'recognizer.load': 'EmptyResult',
  'recognizer.dispose': 'EmptyResult',
  'recognizer.inspect': 'CheckpointDescription',
  'recognizer.fit': 'JobStarted',
  'recognizer.embedFiles': 'JobStarted',
  'recognizer.evaluate': 'JobStarted',
  'recognizer.exportOnnx': 'JobStarted',
  'report.thumbnails': 'ThumbnailResult',
  'data.synthetic': 'JobStarted',
  'data.split': 'SplitResult',
  'data.describe': 'DatasetCounts',
  'gallery.create': 'GalleryDescription',
  'gallery.describe': 'GalleryDescription',
  'gallery.labels': 'GalleryLabels',
  'gallery.remove': 'GalleryRemoved',
  'gallery.setThreshold': 'GalleryDescription',
  'gallery.verify': 'VerifyScores',
  'gallery.dispose': 'EmptyResult',
  'gallery.add': 'JobStarted',
  'gallery.identify': 'JobStarted',
  'gallery.calibrate': 'JobStarted',
  'gallery.train': 'JobStarted',
  'gallery.measureRecall': 'JobStarted',
  'gallery.save': 'JobStarted',
  'gallery.load': 'JobStarted',
  'job.poll': 'JobPoll',
  'job.cancel': 'EmptyResult',
};

/** The schemas of each job's progress events and final result, by the method that starts it. */
const JOB_RESULTS: Record<string, { event: ResultSchemaName; result: ResultSchemaName }> = {
  'recognizer.fit': { event: 'FitEvent', result: 'FitOutcome' },
  'recognizer.embedFiles': { event: 'EmbedProgress', result: 'EmbedResult' },
  'recognizer.evaluate': { event: 'EvaluateProgress', result: 'EvaluationReport' },
  'recognizer.exportOnnx': { event: 'OnnxExportProgress', result: 'OnnxExportResult' },
  'data.synthetic': { event: 'SyntheticProgress', result: 'SyntheticResult' },
  'gallery.add': { event: 'GalleryProgress', result: 'GalleryDescription' },
  'gallery.identify': { event: 'GalleryProgress', result: 'IdentifyRaw' },
  'gallery.calibrate': { event: 'GalleryProgress', result: 'CalibrationReport' },
  'gallery.train': { event: 'GalleryProgress', result: 'GalleryTrained' },
  'gallery.measureRecall': { event: 'GalleryProgress', result: 'RecallReport' },
  'gallery.save': { event: 'GalleryProgress', result: 'EmptyResult' },
  'gallery.load': { event: 'GalleryProgress', result: 'GalleryDescription' },
};

export class ResultChecker {
  /** Which job (by id) each running job is, to check its polls. */
  private readonly jobs = new Map<number, string>();
  /** How many results were checked, by schema: the suite asserts every schema was exercised. */
  readonly counts = new Map<string, number>();

  /** A checker when RECOGNITE_TEST_MODE=1, else undefined. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): ResultChecker | undefined {
    return env.RECOGNITE_TEST_MODE === '1' ? new ResultChecker() : undefined;
  }

  /**
   * Check the raw result (tensors still as shared-memory descriptors) of `method`.
   * @throws TransportError naming every mismatch
   */
  check(method: string, payload: Record<string, unknown>, result: unknown): void {
    if (method.startsWith('debug.')) return;
    const schema = METHOD_RESULTS[method];
    if (!schema) throw new TransportError(`no result schema for worker method '${method}': add it to result-checks.ts`);
    this.expect(schema, result, method);
    const job = JOB_RESULTS[method];
    if (job) this.jobs.set((result as { job: number }).job, method);
    if (method === 'job.poll') this.checkPoll(payload.id as number, result as JobPoll);
  }

  private checkPoll(id: number, poll: JobPoll): void {
    const started = this.jobs.get(id);
    const job = started === undefined ? undefined : JOB_RESULTS[started];
    if (!job) return; // a test-only job
    poll.events.forEach((event, i) => {
      this.expect(job.event, event, `job.poll(${started}).events[${i}]`);
    });
    if (poll.state === 'done') this.expect(job.result, poll.result, `job.poll(${started}).result`);
    if (poll.state !== 'running') this.jobs.delete(id);
  }

  private expect(schema: ResultSchemaName, value: unknown, what: string): void {
    this.counts.set(schema, (this.counts.get(schema) ?? 0) + 1);
    const problems = resultProblems(schema, value);
    if (problems.length === 0) return;
    const lines = problems.map((p) => `  - ${p.path || '(root)'}: ${p.message}`).join('\n');
    throw new TransportError(
      `the worker's answer to ${what} does not match ${schema} (schema/${schema}.json):\n${lines}`,
    );
  }
}
