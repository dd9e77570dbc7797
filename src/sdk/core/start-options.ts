/**
 * What `Recognite.start()` takes and what `info()` answers: the types the JSON Schemas of
 * StartOptions and WorkerInfo are generated from (scripts/gen-schema.ts).
 */
import { loadSchema } from './validate.js';

/** Where the worker runs its tensors: 'auto' picks CUDA when torch sees a GPU, else the CPU. */
export type Device = 'auto' | 'cpu' | 'cuda' | `cuda:${number}`;

/** Options of Recognite.start(): which Python, which device, time-outs and the worker's resources. */
export interface StartOptions {
  /**
   * Python interpreter for the worker. When omitted: $RECOGNITE_PYTHON, else the environment built
   * by the set-up (`npm run setup`, or `npx recognite setup` where recognite-ts is a dependency), else `python3`.
   */
  python?: string;
  /**
   * Device for models and tensor math; asking for CUDA on a machine without it is a ValidationError.
   * @default "auto"
   */
  device?: Device;
  /**
   * Time-out of each ordinary worker call, in milliseconds; 0 means none. Long work (training,
   * embedding folders) runs as jobs with progress and is not subject to it.
   * @default 600000
   * @minimum 0
   * @maximum 2147483647
   * @TJS-type integer
   */
  callTimeoutMs?: number;
  /**
   * Folder for the shared-memory files. When omitted: $RECOGNITE_SHM_DIR, else /dev/shm when
   * writable, else the OS temp folder.
   */
  shmDir?: string;
  /**
   * torch's intra-op thread count. When omitted: torch's own choice (the number of cores).
   * @minimum 1
   * @maximum 1024
   * @TJS-type integer
   */
  threads?: number;
  /**
   * Make every run repeat exactly on CUDA too. On the CPU the same seeds give the same run anyway;
   * on a GPU that takes deterministic algorithms only (`torch.use_deterministic_algorithms`, cuDNN's
   * deterministic convolutions without timing, `CUBLAS_WORKSPACE_CONFIG=:4096:8`), which is slower,
   * by how much depends on the model, and an operation with no deterministic CUDA version then fails
   * with torch's error naming it. `false` lets cuDNN time and keep the fastest algorithm for each
   * input shape (`cudnn.benchmark`): faster, but runs on a GPU differ in the last bits and drift apart.
   * @default false
   */
  deterministic?: boolean;
}

/** What `rt.info()` returns. */
export interface WorkerInfo {
  python: string;
  pythonExecutable: string;
  torch: string;
  torchvision: string;
  numpy: string;
  /** The device in use, as torch names it ('cpu', 'cuda:0'). */
  device: string;
  /** Whether torch sees a CUDA GPU. */
  cuda: boolean;
  cudaDevices: number;
  /** torch.get_num_threads() */
  threads: number;
  pid: number;
  /** The GPU in use (torch's name for it), or null on the CPU. */
  gpuName: string | null;
  /** Its total memory in bytes, or null on the CPU. */
  gpuMemoryBytes: number | null;
  /** The CUDA version torch was built with (null for a CPU-only build). */
  cudaVersion: string | null;
  /** The cuDNN version torch uses (e.g. 91002), or null where there is none. */
  cudnnVersion: number | null;
  /** Whether torch runs deterministically (StartOptions.deterministic), as its flags say. */
  deterministic: boolean;
}

/** The default of StartOptions.callTimeoutMs, read from its generated schema (the one source). */
export const DEFAULT_CALL_TIMEOUT_MS = loadSchema('StartOptions').properties?.callTimeoutMs?.default as number;
