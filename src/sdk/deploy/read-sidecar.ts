/**
 * Reading an exported model from disk: the .onnx bytes and the JSON sidecar beside them, checked
 * against each other before onnxruntime sees a byte (a sidecar beside another file would feed the
 * model the wrong way, or vouch for weights it does not describe).
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { ValidationError, type Problem } from '../core/errors.js';
import type { OnnxSidecar } from './sidecar.js';

const WHAT = 'OnnxRecognizer.load';

/** The ONNX file's bytes and its checked sidecar. */
export interface ExportedModel {
  bytes: Uint8Array;
  sidecar: OnnxSidecar;
}

function readRegularFile(path: string, role: string, hint: string): Buffer {
  try {
    // a FIFO or a device would be read for ever: regular files only
    const stat = statSync(path);
    if (!stat.isFile()) throw ValidationError.one(WHAT, role, `${path} is not a file`);
    return readFileSync(path);
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? String(err)})`;
    throw ValidationError.one(WHAT, role, `${path} ${why}${hint}`);
  }
}

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isPosInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
const isStr = (v: unknown): v is string => typeof v === 'string' && v !== '';
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isTriple = (v: unknown): boolean => Array.isArray(v) && v.length === 3 && v.every(isNum);

/** Every field OnnxRecognizer relies on, with its type; what is wrong, by path. */
function sidecarProblems(s: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  const need = (ok: boolean, path: string, message: string): void => {
    if (!ok) problems.push({ path: `sidecar.${path}`, message });
  };
  const input = isObj(s.input) ? s.input : {};
  const output = isObj(s.output) ? s.output : {};
  const pre = isObj(s.preprocess) ? s.preprocess : {};
  need(isStr(s.modelName), 'modelName', 'must be a model name');
  need(isPosInt(s.embeddingDim), 'embeddingDim', 'must be a positive integer');
  need(isPosInt(s.inputSize), 'inputSize', 'must be a positive integer');
  need(isStr(input.name) && typeof input.dynamicBatch === 'boolean', 'input', 'must be { name, dynamicBatch }');
  need(isStr(output.name), 'output', 'must be { name }');
  need(typeof s.normalized === 'boolean', 'normalized', 'must be true or false');
  need(
    pre.resize === 'shortest-side' && pre.crop === 'center',
    'preprocess',
    "must resize 'shortest-side', crop 'center'",
  );
  need(pre.interpolation === 'bilinear', 'preprocess.interpolation', "must be 'bilinear' (the only one this SDK runs)");
  need(typeof pre.antialias === 'boolean', 'preprocess.antialias', 'must be true or false');
  need(isTriple(pre.mean) && isTriple(pre.std), 'preprocess', 'mean and std must be three numbers each');
  need(isTriple(pre.std) && (pre.std as number[]).every((v) => v > 0), 'preprocess.std', 'must be positive');
  need(isStr(s.weightsFingerprint), 'weightsFingerprint', 'must be a string');
  need(typeof s.onnxSha256 === 'string' && /^[0-9a-f]{64}$/.test(s.onnxSha256), 'onnxSha256', 'must be a SHA-256');
  return problems;
}

/** Read `<onnxPath>.json` and `onnxPath`, check the sidecar's format and fields and the file's SHA-256. */
export function readExportedModel(onnxPath: string): ExportedModel {
  if (typeof onnxPath !== 'string' || onnxPath === '') {
    throw ValidationError.one(WHAT, 'onnxPath', 'must be the path of an .onnx file exported by model.exportOnnx()');
  }
  const sidecarPath = `${onnxPath}.json`;
  const exportHint = ': export the model with model.exportOnnx(path), which writes both files';
  const bytes = readRegularFile(onnxPath, 'onnxPath', exportHint);
  const text = readRegularFile(sidecarPath, 'sidecar', `${exportHint} (the sidecar is <path>.json)`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.toString('utf8'));
  } catch (err) {
    throw ValidationError.one(WHAT, 'sidecar', `${sidecarPath} is not valid JSON (${(err as Error).message})`);
  }
  if (!isObj(parsed) || parsed.format !== 'recognite-onnx') {
    throw ValidationError.one(WHAT, 'sidecar', `${sidecarPath} is not a recognite ONNX sidecar (format)`);
  }
  if (parsed.version !== 1) {
    throw ValidationError.one(
      WHAT,
      'sidecar.version',
      `${sidecarPath} is sidecar format version ${JSON.stringify(parsed.version)}; this SDK reads version 1`,
    );
  }
  const problems = sidecarProblems(parsed);
  if (problems.length) throw new ValidationError(`${WHAT} (${sidecarPath})`, problems);
  const sidecar = parsed as unknown as OnnxSidecar;
  const sha = createHash('sha256').update(bytes).digest('hex');
  if (sha !== sidecar.onnxSha256) {
    throw ValidationError.one(
      WHAT,
      'sidecar.onnxSha256',
      `${sidecarPath} describes another file: ${onnxPath} has SHA-256 ${sha}, the sidecar says ${sidecar.onnxSha256} ` +
        '(a changed or swapped .onnx file): export the model again',
    );
  }
  return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), sidecar };
}
