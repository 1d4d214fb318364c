/** Types of server-build.mjs (plain JavaScript, so that `npm start` needs no TypeScript loader). */
export declare const SERVER_OUT: string
export declare const SERVER_ENTRY: string
export declare const SERVER_NODE_FLAGS: readonly string[]
export declare function buildServer(): Promise<string>
