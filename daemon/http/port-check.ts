import net from 'node:net';

/** The HTTP address is taken (another spectrad, another server): said before any input starts taking spectra. */
export class AddressInUseError extends Error {
  readonly code = 'http-address-in-use';
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super(`HTTP address ${host}:${port} is already in use (another spectrad running?): stop it, or choose another address with --http HOST:PORT or http.port in the config`);
  }
}

/**
 * Binds host:port for a moment and lets it go. The HTTP server listens last in the start order (after the inputs),
 * so without this check a taken port would be found only after the inputs had started taking files from a folder
 * that another daemon may also watch. Port 0 (any free port) needs no check.
 */
export async function assertAddressFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EADDRINUSE' ? new AddressInUseError(host, port) : err));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}
