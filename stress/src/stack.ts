/** A whole stack: one manager, N enrolled gateways with revision 1 installed, one upstream MTA. */
import { join } from 'node:path';
import { ManagerApi } from './api.js';
import { freePort, portOpen, startGateway, startManager, startSmtpSink, tempDir, waitFor, type GatewaySpec, type Proc } from './procs.js';

export interface GatewayHandle {
  spec: GatewaySpec;
  proc: Proc;
  id: string;
}

export class Stack {
  manager!: Proc;
  api!: ManagerApi;
  upstream!: Proc;
  upstreamPort = 0;
  managerPort = 0;
  readonly managerDir = tempDir('sg-stress-manager-');
  gateways: GatewayHandle[] = [];

  static async start(o: { gateways: string[]; gatewayExtra?: string[]; nofile?: number; install?: boolean }): Promise<Stack> {
    const s = new Stack();
    s.managerPort = await freePort();
    s.upstreamPort = await freePort();
    [s.manager, s.upstream] = await Promise.all([startManager(s.managerPort, s.managerDir), startSmtpSink(s.upstreamPort)]);
    s.api = new ManagerApi(s.managerPort);
    await s.api.login();
    await Promise.all(o.gateways.map((name) => s.addGateway(name, o.gatewayExtra, o.nofile)));
    await s.api.waitOnline(o.gateways);
    if (o.install !== false) {
      const inst = await s.api.install('stress: revision 1');
      const bad = inst.results.filter((r) => r.status !== 'installed');
      if (bad.length) throw new Error(`install: ${JSON.stringify(inst.results)}`);
    }
    return s;
  }

  async addGateway(name: string, extra?: string[], nofile?: number): Promise<GatewayHandle> {
    const { id, enrollmentKey } = await this.api.createGateway(name);
    const spec: GatewaySpec = {
      name,
      port: await freePort(),
      upstreamPort: this.upstreamPort,
      managerUrl: this.api.url,
      dataDir: join(tempDir(`sg-stress-${name}-`), 'node'),
      enrollKey: enrollmentKey,
      ...(extra ? { extra } : {}),
      ...(nofile ? { nofile } : {}),
    };
    const proc = await startGateway(spec);
    const h = { spec, proc, id };
    this.gateways.push(h);
    return h;
  }

  gw(name: string): GatewayHandle {
    const g = this.gateways.find((x) => x.spec.name === name);
    if (!g) throw new Error(`no gateway ${name}`);
    return g;
  }

  /** Restart a gateway process (same data dir, no enrollment key: it has its credential). */
  async restartGateway(name: string): Promise<Proc> {
    const g = this.gw(name);
    const { enrollKey: _used, ...spec } = g.spec;
    g.spec = spec;
    // The killed process must have let go of the port first, or "listening" would be its ghost.
    await waitFor(async () => !(await portOpen(spec.port)), `old gateway ${name} gone from port ${spec.port}`, 20_000, 50);
    g.proc = await startGateway(spec);
    return g.proc;
  }

  async restartManager(): Promise<void> {
    this.manager = await startManager(this.managerPort, this.managerDir);
    await this.api.login();
  }

  async restartUpstream(): Promise<void> {
    this.upstream = await startSmtpSink(this.upstreamPort);
  }

  async stop(): Promise<void> {
    await Promise.all([...this.gateways.map((g) => g.proc.stop()), this.upstream?.stop(), this.manager?.stop()]);
  }
}
