/** A progress bar on stderr, drawn only when stderr is a terminal. */
export function progressBar(label: string): { update(done: number, total: number): void; finish(): void } {
  const tty = process.stderr.isTTY === true;
  const started = Date.now();
  let last = 0;
  return {
    update(done, total) {
      if (!tty) return;
      const now = Date.now();
      if (done < total && now - last < 100) return;
      last = now;
      const width = 30;
      const filled = Math.round((done / total) * width);
      const rate = done / Math.max(1e-3, (now - started) / 1000);
      const eta = rate > 0 ? (total - done) / rate : 0;
      process.stderr.write(
        `\r${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} ${rate.toFixed(1)} sims/s eta ${eta.toFixed(0)}s  `,
      );
    },
    finish() {
      if (tty) process.stderr.write("\n");
    },
  };
}
