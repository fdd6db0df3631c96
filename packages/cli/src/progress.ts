import type { ProgressEvent } from "@keyup/core";

/**
 * How progress is shown: plain lines everywhere; a spinner on the running step and colours only when
 * a person is watching a terminal (and `NO_COLOR` is not set).
 *
 * @example
 * ```ts
 * const progress = createProgress((s) => process.stdout.write(s), { tty: true, color: !process.env.NO_COLOR });
 * progress.onEvent(event);
 * progress.stop();
 * ```
 */
export function createProgress(write: (text: string) => void, options: { tty: boolean; color: boolean }) {
  const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
  let timer: NodeJS.Timeout | undefined;
  let frame = 0;
  let running: string | undefined;
  const paint = (code: number, text: string) => (options.color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const clear = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    if (running !== undefined && options.tty) write("\r\x1b[K");
    running = undefined;
  };
  return {
    onEvent(event: ProgressEvent): void {
      if (event.type === "step-started") {
        if (!options.tty) return;
        clear();
        running = event.step;
        write(`  ${frames[0]} ${event.step}…`);
        timer = setInterval(() => {
          frame = (frame + 1) % frames.length;
          write(`\r  ${frames[frame]} ${running}…`);
        }, 80);
        timer.unref();
        return;
      }
      clear();
      const { step, status, detail } = event.step;
      const mark = status === "ok" ? paint(32, "✓") : status === "retry" ? paint(33, "↻") : status === "failed" ? paint(31, "✗") : paint(90, "-");
      write(`  ${mark} ${step}${detail ? `: ${detail}` : ""}\n`);
    },
    stop: clear,
  };
}
