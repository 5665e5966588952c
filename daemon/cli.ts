import { Command } from 'commander';
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/** Each command lives in daemon/commands/<name>.ts and exports register(program). */
const program = new Command()
  .name('spectrad')
  .description('Identify compounds and mixtures in spectra, live, from lab instruments.')
  .version(pkg.version)
  .showHelpAfterError();

interface CommandModule {
  register(program: Command): void;
}

// Command modules keep their top-level imports light (commander, node:*, small core modules) and import heavy
// dependencies (TensorFlow.js, SQLite, fastify) inside their actions, so `spectrad --help` stays quick.
const commandModules: Array<Promise<CommandModule>> = [
  import('./commands/dataset.ts'),
  import('./commands/inspect.ts'),
  import('./commands/identify.ts'),
  import('./commands/library.ts'),
  import('./commands/train.ts'),
  import('./commands/embed.ts'),
  import('./commands/run.ts'),
];
for (const load of commandModules) {
  (await load).register(program);
}

await program.parseAsync(process.argv);
