import pkg from '../../package.json' with { type: 'json' };

/** netready's version, from package.json (inlined into the bundle). */
export const VERSION: string = pkg.version;
