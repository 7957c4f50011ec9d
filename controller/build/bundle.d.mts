/** Bundles `entry` and its imports into the ES module `outfile`, as the image's program is built (bundle.mjs). */
export function bundle(entry: string, outfile: string): Promise<unknown>;
