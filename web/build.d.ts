// Types of web/build.js for the TypeScript that uses it (the browser suite builds the page first).
export declare function buildStatusPage(outDir?: string): Promise<string>;
export declare function errorGuidance(markdown: string): Record<string, { meaning: string; todo: string }>;
