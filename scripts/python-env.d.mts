export type TorchVariant = 'default' | 'cpu';
export const PACKAGE_ROOT: string;
export const COMPLETE_MARK: string;
export const TORCH_VARIANTS: Record<TorchVariant, { requirements: string; prefix: string }>;
export const VARIANT_FILE: string;
export function cacheDir(env?: NodeJS.ProcessEnv): string;
export function parseTorchVariant(value: unknown): TorchVariant | undefined;
export function torchVariant(env?: NodeJS.ProcessEnv): TorchVariant;
export function requirementsFile(variant?: TorchVariant, root?: string): string;
export function requirementsHash(root?: string, variant?: TorchVariant): string;
export function projectEnv(
  env?: NodeJS.ProcessEnv,
  root?: string,
  variant?: TorchVariant,
): { dir: string; python: string; mark: string; variant: TorchVariant };
export function completedProjectPython(
  env?: NodeJS.ProcessEnv,
  root?: string,
  variant?: TorchVariant,
): string | undefined;
export function pipInstallArgs(variant?: TorchVariant, root?: string): string[];
export function installedAsDependency(root?: string): boolean;
export function setupCommand(root?: string): string;
