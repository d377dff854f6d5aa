export declare const mallocTunables: readonly string[];
export declare function launchEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
