import type { Command } from 'commander';

/** `spectrad run`: the always-on daemon. Flags override the config for the common cases. */
export function register(program: Command): void {
  program
    .command('run')
    .description('run the daemon: watch inputs, identify spectra, publish results, serve the API and dashboard')
    .option('-c, --config <file>', 'YAML config (default: the embedded config/default.yaml)')
    .option('--watch <dir>', 'watch this folder instead of the configured folder inputs (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--mqtt <url>', 'publish results to this MQTT broker (replaces configured MQTT outputs)')
    .option('--http <host:port>', 'address of the HTTP API and dashboard')
    .option('--instrument <name>', 'instrument name for inputs that name none')
    .option('--data <dir>', 'folder for the store and other state')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent')
    .option('--node-id <id>', "this daemon's id on the site (default: SPECTRAD_NODE_ID, node.id, the host name)")
    .option('--mqtt-client-id <id>', 'MQTT client id prefix: each MQTT adapter connects as <id>-<adapter name> (default spectrad-<node id>)')
    .option('--mqtt-session-expiry <seconds>', "how long the broker keeps an MQTT input's session while the daemon is away (default 604800)")
    .action(async (opts: {
      config?: string; watch: string[]; mqtt?: string; http?: string; instrument?: string; data?: string; logLevel?: string;
      nodeId?: string; mqttClientId?: string; mqttSessionExpiry?: string;
    }) => {
      const { ConfigError, loadConfig } = await import('../../config/load.ts');
      let config;
      try {
        config = loadConfig({
          file: opts.config,
          overrides: {
            watch: opts.watch, mqtt: opts.mqtt, http: opts.http, instrument: opts.instrument, dataDir: opts.data, logLevel: opts.logLevel,
            nodeId: opts.nodeId, mqttClientId: opts.mqttClientId, mqttSessionExpirySec: opts.mqttSessionExpiry,
          },
        });
      } catch (err) {
        if (err instanceof ConfigError) {
          console.error(err.message);
          process.exitCode = 2;
          return;
        }
        throw err;
      }
      const { startDaemon } = await import('../run.ts');
      let daemon;
      try {
        daemon = await startDaemon(config);
      } catch (err) {
        // Said in one line and exited: left uncaught, the wasm runtime's handler would print its own source first.
        const { AddressInUseError } = await import('../http/port-check.ts');
        console.error(`spectrad: could not start: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(err instanceof AddressInUseError ? 2 : 1);
      }
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        signals++;
        if (signals > 1) {
          daemon.log.warn({ signal }, 'second signal: exiting without finishing the stop');
          process.exit(130);
        }
        daemon.log.info({ signal }, 'stopping: inputs, then draining the pipeline, flushing outputs, closing the store');
        daemon.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            daemon.log.error({ err }, 'stop failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
      // A fault in one adapter's callback must not take the daemon down; log it loudly instead. The tfjs wasm runtime
      // (Emscripten) installs handlers that rethrow, which ends the process with exit code 7 whatever else listens:
      // they are removed first, or one stray exception would still kill the daemon (the operator walkthrough saw exit 7).
      process.removeAllListeners('uncaughtException');
      process.removeAllListeners('unhandledRejection');
      process.on('uncaughtException', (err) => daemon.log.error({ err }, 'uncaught exception (daemon keeps running)'));
      process.on('unhandledRejection', (err) => daemon.log.error({ err }, 'unhandled rejection (daemon keeps running)'));
    });
}
