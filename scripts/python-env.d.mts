export const PACKAGE_ROOT: string;
export const COMPLETE_MARK: string;
export function cacheDir(env?: NodeJS.ProcessEnv): string;
export function requirementsHash(root?: string): string;
export function projectEnv(env?: NodeJS.ProcessEnv, root?: string): { dir: string; python: string; mark: string };
export function completedProjectPython(env?: NodeJS.ProcessEnv, root?: string): string | undefined;
export function installedAsDependency(root?: string): boolean;
export function setupCommand(root?: string): string;
