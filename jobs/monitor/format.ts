/** Numbers as the monitor's descriptions and report print them. */
export const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(3));
export const fmtP = (p: number) => (p < 1e-4 ? p.toExponential(2) : p.toFixed(4));
export const fmtPct = (x: number) => `${(x * 100).toFixed(1)}%`;
/** 1048576 -> "1 MiB". */
export const formatBytes = (bytes: number) =>
    bytes >= 1024 * 1024
        ? `${+(bytes / 1024 / 1024).toFixed(1)} MiB`
        : bytes >= 1024
          ? `${+(bytes / 1024).toFixed(1)} KiB`
          : `${bytes} bytes`;
