// Types of bundles.mjs (plain JavaScript so that bin/neurox.js can use it before a TypeScript loader exists).
export declare const ROOT: string;
export declare const BUILD_VERSION: number;
export declare const CLI_BUNDLE: { readonly source: string; readonly name: string };
export declare function defaultCacheDir(): string;
export declare function sourceStat(path: string): readonly [number, number] | null;
export declare function freshBundle(cacheDir: string, entry: string, name: string): URL | null;
