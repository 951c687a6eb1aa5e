export declare const BUDGET_KB: number;
export declare function initialJs(distDir: string): {
  files: Array<{ file: string; bytes: number; gzip: number }>;
  gzip: number;
  bytes: number;
};
