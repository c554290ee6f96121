import { runDemo } from './demo.ts';

// `pnpm demo` (see demo.ts). Ctrl+C stops the platform cleanly; a second one exits at once.
try {
  const result = await runDemo({ keepRunning: true });
  const platform = result.platform;
  if (platform) {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) process.exit(130);
      stopping = true;
      process.stdout.write(`\n${signal}: stopping the platform ...\n`);
      platform.stop().then(
        () => {
          process.stdout.write('Stopped.\n');
          process.exit(0);
        },
        (error: unknown) => {
          process.stderr.write(`Stopping failed: ${error instanceof Error ? error.message : String(error)}\n`);
          process.exit(1);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  }
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  const hint = message.includes('EADDRINUSE') ? ' (is `pnpm start` or another demo running? Stop it, or choose another port: PORT=8090 pnpm demo)' : '';
  process.stderr.write(`\nThe demo failed: ${message}${hint}\n`);
  process.exit(1);
}
