export declare const mallocTunable: string;
export declare function launchEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
