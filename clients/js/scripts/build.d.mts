export const assetsDir: string;
export function buildBundles(): Promise<{ name: string; text: string }[]>;
export function staleAssets(): Promise<string[]>;
